import { toApplicationView, toAuditView, toClusterHealth, toEventView, toResourceView } from "@vwksp/core";
import {
  ApplicationView,
  AuditPage,
  ClusterHealth,
  ClusterIdParams,
  EventPage,
  ListApplicationsQuery,
  ListAuditQuery,
  ListEventsQuery,
  ResourceView,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

export const observabilityRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const read = requireScope(deps, "clusters:read");
  const security = [{ apiKey: [] }];
  const tags = ["observability"];

  app.get(
    "/api/v1/clusters/:id/events",
    {
      schema: {
        operationId: "listClusterEvents",
        tags,
        security,
        summary: "Agent events of a cluster, newest first (heartbeats are not stored as events)",
        params: ClusterIdParams,
        querystring: ListEventsQuery,
        response: { 200: EventPage, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => {
      const page = await deps.eventQueries.listEvents(
        principalOf(request).organizationId,
        request.params.id,
        request.query,
      );
      return { nextCursor: page.nextCursor, items: page.items.map(toEventView) };
    },
  );

  app.get(
    "/api/v1/clusters/:id/resources",
    {
      schema: {
        operationId: "listClusterResources",
        tags,
        security,
        summary: "Status projection of the objects the agent reports on",
        params: ClusterIdParams,
        response: { 200: z.object({ items: z.array(ResourceView) }), ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => {
      const rows = await deps.eventQueries.listResources(
        principalOf(request).organizationId,
        request.params.id,
      );
      return { items: rows.map(toResourceView) };
    },
  );

  app.get(
    "/api/v1/clusters/:id/applications",
    {
      schema: {
        operationId: "listClusterApplications",
        tags,
        security,
        summary:
          "Applications requested on the cluster and where they are (docs/application-states.md); deleted ones only with includeDeleted=true",
        params: ClusterIdParams,
        querystring: ListApplicationsQuery,
        response: {
          200: z.object({ items: z.array(ApplicationView) }),
          ...errorResponses(404),
        },
      },
      onRequest: read,
    },
    async (request) => {
      const rows = await deps.eventQueries.listApplications(
        principalOf(request).organizationId,
        request.params.id,
        request.query.includeDeleted,
      );
      return { items: rows.map(toApplicationView) };
    },
  );

  app.get(
    "/api/v1/clusters/:id/health",
    {
      schema: {
        operationId: "getClusterHealth",
        summary: "The cluster's health: conditions, versions, job channel and open jobs",
        tags,
        security,
        params: ClusterIdParams,
        response: { 200: ClusterHealth, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => {
      const health = await deps.health.clusterHealth(principalOf(request).organizationId, request.params.id);
      return toClusterHealth(health, deps.config.JOB_CHANNEL_STALE_SECONDS);
    },
  );

  app.get(
    "/api/v1/audit",
    {
      schema: {
        operationId: "listAudit",
        tags,
        security,
        summary: "The organization's audit trail, newest first",
        querystring: ListAuditQuery,
        response: { 200: AuditPage },
      },
      onRequest: requireScope(deps, "audit:read"),
    },
    async (request) => {
      const page = await deps.eventQueries.listAudit(principalOf(request).organizationId, request.query);
      return { nextCursor: page.nextCursor, items: page.items.map(toAuditView) };
    },
  );
};
