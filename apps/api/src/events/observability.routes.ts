import { clusterHealthOf, isoOrNull, type PollAuthFailures, type RefusedCredentialState } from "@vwksp/core";
import {
  type ApplicationState,
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
      return {
        nextCursor: page.nextCursor,
        items: page.items.map((event) => ({
          id: String(event.id),
          eventKey: event.eventKey,
          kind: event.kind,
          resourceRef: event.resourceRef as z.infer<typeof EventPage>["items"][number]["resourceRef"],
          conditions: event.conditions as z.infer<typeof EventPage>["items"][number]["conditions"],
          timestamp: event.timestamp.toISOString(),
          receivedAt: event.receivedAt.toISOString(),
        })),
      };
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
      return {
        items: rows.map((row) => ({
          apiVersion: row.apiVersion,
          kind: row.kind,
          namespace: row.namespace,
          name: row.name,
          uid: row.uid,
          generation: row.generation,
          conditions: row.conditions,
          ready: row.ready,
          updatedAt: row.updatedAt.toISOString(),
        })),
      };
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
      return {
        items: rows.map((row) => ({
          namespace: row.namespace,
          name: row.name,
          catalogId: row.catalogId,
          generation: row.generation,
          state: row.state as ApplicationState,
          stateReason: row.stateReason,
          lastJobId: row.lastJobId,
          deployedAt: isoOrNull(row.deployedAt),
          deletedAt: isoOrNull(row.deletedAt),
          updatedAt: row.updatedAt.toISOString(),
        })),
      };
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
      // Values still coalescing in this process are written first, so the answer is current.
      await deps.heartbeats.flush();
      const { cluster, openJobs } = await deps.health.clusterHealth(
        principalOf(request).organizationId,
        request.params.id,
      );
      return {
        clusterId: cluster.id,
        status: cluster.status,
        lastHeartbeatAt: isoOrNull(cluster.lastHeartbeatAt),
        lastSeenAt: isoOrNull(cluster.lastSeenAt),
        ...clusterHealthOf(cluster),
        jobChannel: {
          lastPollAt: isoOrNull(cluster.lastPollAt),
          staleAfterSeconds: deps.config.JOB_CHANNEL_STALE_SECONDS,
          pollAuthFailures: Object.entries((cluster.pollAuthFailures ?? {}) as PollAuthFailures).flatMap(
            ([credentialState, refusal]) =>
              refusal ? [{ credentialState: credentialState as RefusedCredentialState, ...refusal }] : [],
          ),
        },
        versions: {
          operator: cluster.operatorVersion,
          flux: cluster.fluxVersion,
          velero: cluster.veleroVersion,
          kubernetes: cluster.kubernetesVersion,
        },
        openJobs,
      };
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
      return {
        nextCursor: page.nextCursor,
        items: page.items.map((entry) => ({
          id: String(entry.id),
          source: entry.source,
          kind: entry.kind,
          actor: entry.actor,
          clusterId: entry.clusterId,
          data: entry.data as Record<string, unknown>,
          createdAt: entry.createdAt.toISOString(),
        })),
      };
    },
  );
};
