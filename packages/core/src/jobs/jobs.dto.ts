import { type JobAccepted, JobOutcome, type JobView } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { Job, JobStatusUpdate } from "../db.ts";

const OUTCOMES = new Set<string>(JobOutcome.options);

export function toJobView(job: Job, statuses?: JobStatusUpdate[]): JobView {
  return {
    id: job.id,
    clusterId: job.clusterId,
    kind: job.kind,
    state: job.state,
    idempotencyKey: job.idempotencyKey,
    payload: job.payload as Record<string, unknown>,
    signature: job.signature,
    deliveries: job.deliveries,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    expiresAt: job.expiresAt.toISOString(),
    readyAt: isoOrNull(job.readyAt),
    deliveredAt: isoOrNull(job.deliveredAt),
    ackedAt: isoOrNull(job.ackedAt),
    leaseExpiresAt: isoOrNull(job.leaseExpiresAt),
    finishedAt: isoOrNull(job.finishedAt),
    outcome: OUTCOMES.has(job.state) ? (job.state as JobView["outcome"]) : null,
    error: job.error,
    appliedRef: (job.appliedRef as JobView["appliedRef"]) ?? null,
    // Only GitOps jobs have one; left out otherwise so pull-mode views stay as they were.
    ...(job.gitCommit ? { gitCommit: job.gitCommit } : {}),
    ...(statuses
      ? {
          statuses: statuses.map((status) => ({
            phase: status.phase,
            conditions: status.conditions as NonNullable<JobView["statuses"]>[number]["conditions"],
            message: status.message,
            timestamp: status.timestamp.toISOString(),
            receivedAt: status.receivedAt.toISOString(),
          })),
        }
      : {}),
  };
}

/** The answer to a job request: the job queued (or the one the same idempotency key made). */
export function toJobAccepted(job: {
  id: string;
  state: JobAccepted["state"];
  idempotencyKey: string;
  expiresAt: Date;
}): JobAccepted {
  return {
    jobId: job.id,
    id: job.id,
    state: job.state,
    idempotencyKey: job.idempotencyKey,
    expiresAt: job.expiresAt.toISOString(),
  };
}
