import { z } from "zod";
import { Condition, ObjectRef, PageQuery, Rfc3339 } from "../common.ts";
import { ClusterHealthFields, ClusterResourceRef, ClusterStatus } from "./clusters.ts";

const Since = Rfc3339.describe("only entries at or after this time (RFC 3339)");

export const ListEventsQuery = PageQuery.extend({
  kind: z
    .string()
    .max(128)
    .optional()
    .meta({ description: "only events of this kind", examples: ["ConditionTransition"] }),
  resourceName: z
    .string()
    .max(253)
    .optional()
    .meta({ description: "only events about objects of this name", examples: ["vaultwarden"] }),
  since: Since.optional(),
});

export const EventView = z
  .object({
    id: z.string(),
    eventKey: z.string().nullable(),
    kind: z.string(),
    resourceRef: ObjectRef,
    conditions: z.array(Condition),
    timestamp: Rfc3339,
    receivedAt: Rfc3339,
  })
  .meta({ id: "EventView" });
export type EventView = z.infer<typeof EventView>;

export const EventPage = z
  .object({ items: z.array(EventView), nextCursor: z.string().nullable() })
  .meta({ id: "EventPage" });

export const ResourceView = z
  .object({
    apiVersion: z.string(),
    kind: z.string(),
    namespace: z.string(),
    name: z.string(),
    uid: z.string().nullable(),
    generation: z.number().int().nullable(),
    conditions: z.array(Condition),
    ready: z.boolean(),
    updatedAt: Rfc3339,
  })
  .meta({ id: "ResourceView" });
export type ResourceView = z.infer<typeof ResourceView>;

/** The application state machine's states (docs/application-states.md draws the arrows). */
export const ApplicationState = z
  .enum(["requested", "deploying", "deployed", "not_ready", "degraded", "failed", "deleting", "deleted"])
  .describe(
    "requested: job not finished yet; deploying: applied, waiting for Ready=True; deployed: Ready=True; not_ready: Ready=False after it was deployed; degraded: Degraded=True; failed: the request's job failed, conflicted, expired, was undeliverable or cancelled (stateReason says which); deleting: delete requested; deleted: removed from the cluster (kept for the audit trail)",
  )
  .meta({ id: "ApplicationState" });
export type ApplicationState = z.infer<typeof ApplicationState>;

export const ListApplicationsQuery = z.strictObject({
  includeDeleted: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true")
    .describe("also list deleted applications (hidden by default)"),
});

export const ApplicationView = z
  .object({
    namespace: z.string(),
    name: z.string(),
    catalogId: z.string(),
    generation: z.number().int(),
    state: ApplicationState,
    stateReason: z.string().nullable(),
    lastJobId: z.string().nullable(),
    deployedAt: Rfc3339.nullable(),
    deletedAt: Rfc3339.nullable(),
    updatedAt: Rfc3339,
  })
  .meta({ id: "ApplicationView" });
export type ApplicationView = z.infer<typeof ApplicationView>;

export const ClusterHealth = z
  .object({
    clusterId: z.string(),
    status: ClusterStatus,
    lastHeartbeatAt: Rfc3339.nullable(),
    lastSeenAt: Rfc3339.nullable(),
    clusterResource: ClusterResourceRef.nullable(),
    ...ClusterHealthFields,
    versions: z.object({
      operator: z.string().nullable(),
      flux: z.string().nullable(),
      velero: z.string().nullable(),
      kubernetes: z.string().nullable(),
    }),
    jobChannel: z
      .object({
        lastPollAt: Rfc3339.nullable(),
        staleAfterSeconds: z.number().int().describe("JOB_CHANNEL_STALE_SECONDS"),
        pollAuthFailures: z
          .array(
            z.object({
              credentialState: z.enum(["rotated", "revoked", "expired"]),
              count: z.number().int(),
              lastAt: Rfc3339,
            }),
          )
          .describe(
            "polls refused since the latest authenticated one, by the state of the credential they carried",
          ),
      })
      .describe("the facts behind the JobChannelHealthy condition"),
    openJobs: z.object({
      queued: z.number().int(),
      ready: z.number().int(),
      leased: z.number().int(),
      acked: z.number().int(),
    }),
  })
  .meta({ id: "ClusterHealth" });
export type ClusterHealth = z.infer<typeof ClusterHealth>;

export const ListAuditQuery = PageQuery.extend({
  clusterId: z
    .string()
    .uuid()
    .optional()
    .meta({
      description: "only entries about this cluster",
      examples: ["3f2b8c71-9a4e-4d6b-8e15-7c0a2d9f6b43"],
    }),
  source: z
    .enum(["user", "agent", "system"])
    .optional()
    .describe("only entries by admins (user), agents or the service itself (system)"),
  kind: z
    .string()
    .max(128)
    .optional()
    .meta({ description: "only entries of this kind", examples: ["application.deploy"] }),
  since: Since.optional(),
});

export const AuditView = z
  .object({
    id: z.string(),
    source: z.enum(["user", "agent", "system"]),
    kind: z.string(),
    actor: z.string(),
    clusterId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    createdAt: Rfc3339,
  })
  .meta({ id: "AuditView" });
export type AuditView = z.infer<typeof AuditView>;

export const AuditPage = z
  .object({ items: z.array(AuditView), nextCursor: z.string().nullable() })
  .meta({ id: "AuditPage" });
