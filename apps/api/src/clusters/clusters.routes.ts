import { toClusterDto } from "@vwksp/core";
import {
  Cluster,
  ClusterIdParams,
  ClusterPage,
  CreateClusterBody,
  ListClustersQuery,
  UpdateClusterBody,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

export const clusterRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const read = requireScope(deps, "clusters:read");
  const write = requireScope(deps, "clusters:write");
  const tags = ["clusters"];
  const security = [{ apiKey: [] }];

  app.post(
    "/api/v1/clusters",
    {
      schema: {
        operationId: "createCluster",
        tags,
        security,
        summary: "Create a cluster identity (status pending) for an agent to register against",
        body: CreateClusterBody,
        response: {
          201: Cluster,
          ...errorResponses({
            409: "slug_taken: the slug (given, or derived from displayName) is used in this organization",
          }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const cluster = await deps.clusters.create(actorOf(principalOf(request)), request.body);
      return reply.code(201).send(toClusterDto(cluster));
    },
  );

  app.get(
    "/api/v1/clusters",
    {
      schema: {
        operationId: "listClusters",
        tags,
        security,
        summary: "List the organization's clusters, newest first",
        querystring: ListClustersQuery,
        response: { 200: ClusterPage },
      },
      onRequest: read,
    },
    async (request) => {
      const page = await deps.clusters.list(principalOf(request).organizationId, request.query);
      return { items: page.items.map((row) => toClusterDto(row)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/api/v1/clusters/:id",
    {
      schema: {
        operationId: "getCluster",
        summary: "Get a cluster, its settings and what its agent last reported",
        tags,
        security,
        params: ClusterIdParams,
        response: { 200: Cluster, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => deps.clusterView.view(principalOf(request).organizationId, request.params.id),
  );

  app.patch(
    "/api/v1/clusters/:id",
    {
      schema: {
        operationId: "updateCluster",
        tags,
        security,
        summary: "Change a cluster's settings",
        params: ClusterIdParams,
        body: UpdateClusterBody,
        response: {
          200: Cluster,
          ...errorResponses(404, {
            409: "slug_taken: the slug is used in this organization; owned_by_odoo: the change touches a setting the Odoo module owns; slug_bound_to_gitops: the slug names the directory a GitOps cluster's Flux follows (unbind first)",
          }),
        },
      },
      onRequest: write,
    },
    async (request) =>
      toClusterDto(
        await deps.clusters.update(actorOf(principalOf(request)), request.params.id, request.body),
      ),
  );

  app.delete(
    "/api/v1/clusters/:id",
    {
      schema: {
        operationId: "disableCluster",
        tags,
        security,
        summary: "Disable a cluster: its agent gets 403 and its open jobs are cancelled",
        params: ClusterIdParams,
        response: { 200: Cluster, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request) =>
      toClusterDto(await deps.clusters.disable(actorOf(principalOf(request)), request.params.id)),
  );

  app.post(
    "/api/v1/clusters/:id/credentials/revoke",
    {
      schema: {
        operationId: "revokeClusterCredentials",
        tags,
        security,
        summary: "Revoke every agent credential of the cluster, on every API process within 2 s",
        params: ClusterIdParams,
        response: { 204: NoContent, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.credentials.revokeAll(actorOf(principalOf(request)), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
