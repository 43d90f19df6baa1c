import { z } from "zod";

/**
 * The typed job catalog: queue → job name → payload schema. Payloads carry ids, never blobs;
 * PostgreSQL holds the data, so a lost BullMQ job can always be rebuilt from the database.
 */
export const JOB_CATALOG = {
  /** Validates, renders and signs a queued agent job, then marks it ready. */
  dispatch: {
    "dispatch-job": z.object({ jobId: z.string() }),
  },
  /** Performs the jobs of push and GitOps clusters (one drain per cluster at a time). */
  execute: {
    "drain-cluster": z.object({ clusterId: z.string().uuid() }),
  },
  /** Keeps Odoo's Cluster Registry in sync. */
  "odoo-sync": {
    "push-cluster": z.object({ clusterId: z.string().uuid() }),
    pull: z.object({}),
    "pull-record": z.object({ odooId: z.number().int().positive() }),
    /** The full comparison (periodic, at start, after an access error clears). */
    reconcile: z.object({}),
    /** Pushes the shared catalog to ODOO_CATALOG_MODEL (after a change of it). */
    "push-catalog": z.object({}),
    /** Pushes what the outbox holds: applications' runtime fields, chatter messages. */
    "drain-outbox": z.object({}),
    /** Workspace Hub's applications changed since the cursor (ODOO_APPLICATION_MODEL). */
    "pull-applications": z.object({}),
    /** The applications' full comparison and the catalog's push (periodic, at start, after recovery). */
    "reconcile-applications": z.object({}),
    /** One application's record at once (Odoo's webhook on ODOO_APPLICATION_MODEL). */
    "pull-application-record": z.object({ odooId: z.number().int().positive() }),
  },
  /** Outbound webhooks (docs/webhooks.md): the outbox's fan-out, one attempt per job. */
  webhooks: {
    /** Gives new outbox events their deliveries and enqueues them (a hint after commits). */
    "fan-out": z.object({}),
    /** One attempt of one delivery (jobId: `<delivery id>-<attempts made>`). */
    deliver: z.object({ deliveryId: z.string().uuid() }),
  },
  /** Repeatable housekeeping: the backstops behind the hot paths. */
  maintenance: {
    "sweep-jobs": z.object({}),
    "reconcile-queued": z.object({}),
    "check-heartbeats": z.object({}),
    "settle-applications": z.object({}),
    "check-job-channels": z.object({}),
    "prune-events": z.object({}),
    "drain-executor-clusters": z.object({}),
    /** Push mode: every push cluster's kubeconfig against its API (PUSH_VALIDATE_INTERVAL_SECONDS). */
    "validate-push-clusters": z.object({}),
    /** Webhooks' backstop: fan-out, and due deliveries whose job Redis lost. */
    "sweep-webhooks": z.object({}),
  },
} as const;

export type QueueName = keyof typeof JOB_CATALOG;
export type JobName<Q extends QueueName> = keyof (typeof JOB_CATALOG)[Q] & string;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = z.infer<
  (typeof JOB_CATALOG)[Q][N] extends z.ZodType ? (typeof JOB_CATALOG)[Q][N] : never
>;

export const QUEUE_NAMES = Object.keys(JOB_CATALOG) as QueueName[];

export function parsePayload<Q extends QueueName, N extends JobName<Q>>(
  queue: Q,
  name: N,
  data: unknown,
): JobPayload<Q, N> {
  const schema = JOB_CATALOG[queue][name] as unknown as z.ZodType<JobPayload<Q, N>>;
  return schema.parse(data);
}
