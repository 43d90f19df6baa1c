import { z } from "zod";
import { JobKind, JobOutcome } from "../agent.ts";
import { Condition, DnsLabel, ObjectRef, PageQuery, Rfc3339 } from "../common.ts";
import { CatalogId } from "./catalog.ts";
import { ClusterIdParam } from "./clusters.ts";

const JsonObject = z.record(z.string(), z.unknown());

export const JobState = z.enum([
  "queued",
  "ready",
  "leased",
  "acked",
  "succeeded",
  "failed",
  "noop",
  "conflict",
  "expired",
  "cancelled",
  "undeliverable",
]);
export type JobState = z.infer<typeof JobState>;

/** A job still in the pipeline: neither answered by its agent nor ended by the service. */
export const OPEN_JOB_STATES = ["queued", "ready", "leased", "acked"] as const satisfies readonly JobState[];
export type OpenJobState = (typeof OPEN_JOB_STATES)[number];
export type ClosedJobState = Exclude<JobState, OpenJobState>;
/** Every state a job ends in: the agent's outcomes and the service's own endings. */
export const CLOSED_JOB_STATES = JobState.options.filter(
  (state): state is ClosedJobState => !(OPEN_JOB_STATES as readonly JobState[]).includes(state),
);

/** RFC 1123 host name for the app's ingress. */
const Hostname = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/,
    "must be a lowercase DNS host name",
  );

export const DeployApplicationBody = z
  .strictObject({
    catalogId: CatalogId,
    namespace: DnsLabel,
    name: DnsLabel,
    hostname: Hostname.optional(),
    values: JsonObject.optional(),
    chartVersion: z.string().min(1).max(100).optional(),
    expiresInSeconds: z.number().int().min(1).max(604_800).optional(),
  })
  .meta({ id: "DeployApplicationBody" });
export type DeployApplicationBody = z.infer<typeof DeployApplicationBody>;

export const ApplicationParams = z.object({
  id: ClusterIdParam,
  namespace: DnsLabel.meta({ description: "the application's namespace", examples: ["org-acme"] }),
  name: DnsLabel.meta({ description: "the application's name", examples: ["vaultwarden"] }),
});

export const RequestOperationBody = z
  .strictObject({
    template: z.string().min(1).max(100),
    namespace: DnsLabel,
    /** The ApplicationInstance the operation acts on (also the stem of the Operation's name). */
    name: DnsLabel,
    parameters: JsonObject.optional(),
    expiresInSeconds: z.number().int().min(1).max(604_800).optional(),
  })
  .meta({ id: "RequestOperationBody" });
export type RequestOperationBody = z.infer<typeof RequestOperationBody>;

export const CreateJobBody = z
  .strictObject({
    kind: JobKind,
    payload: JsonObject,
    idempotencyKey: z.string().min(1).max(500).optional(),
    expiresInSeconds: z.number().int().min(1).max(604_800).default(900),
  })
  .meta({ id: "CreateJobBody" });
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const JobAccepted = z
  .object({
    jobId: z.string(),
    id: z.string(),
    state: JobState,
    idempotencyKey: z.string(),
    expiresAt: Rfc3339,
  })
  .meta({ id: "JobAccepted" });
export type JobAccepted = z.infer<typeof JobAccepted>;

export const JobStatusView = z
  .object({
    phase: z.string(),
    conditions: z.array(Condition),
    message: z.string().nullable(),
    timestamp: Rfc3339,
    receivedAt: Rfc3339,
  })
  .meta({ id: "JobStatusView" });

export const JobView = z
  .object({
    id: z.string(),
    clusterId: z.string(),
    kind: JobKind,
    state: JobState,
    idempotencyKey: z.string(),
    payload: JsonObject,
    signature: z.string().nullable(),
    deliveries: z.number().int(),
    createdAt: Rfc3339,
    updatedAt: Rfc3339,
    expiresAt: Rfc3339,
    readyAt: Rfc3339.nullable(),
    deliveredAt: Rfc3339.nullable(),
    ackedAt: Rfc3339.nullable(),
    leaseExpiresAt: Rfc3339.nullable(),
    finishedAt: Rfc3339.nullable(),
    outcome: JobOutcome.nullable(),
    error: z.string().nullable(),
    appliedRef: ObjectRef.nullable(),
    gitCommit: z
      .string()
      .nullable()
      .optional()
      .describe("GitOps mode: the commit on the cluster's branch carrying this job's change"),
    statuses: z.array(JobStatusView).optional(),
  })
  .meta({ id: "JobView" });
export type JobView = z.infer<typeof JobView>;

export const JobIdOnlyParams = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .meta({ description: "the job's id (j-<ULID>)", examples: ["j-01JTQ8Z6V4K2N9M3B7C5X1R0PD"] }),
});

export const ListJobsQuery = PageQuery.extend({
  state: JobState.optional().describe("only jobs in this state"),
});

export const JobPage = z
  .object({ items: z.array(JobView), nextCursor: z.string().nullable() })
  .meta({ id: "JobPage" });
