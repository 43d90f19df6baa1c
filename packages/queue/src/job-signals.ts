import type { Queues } from "./producers.ts";
import type { PubSub } from "./pubsub.ts";

/** BullMQ retries for a dispatch job: the processor is idempotent, failures are transient. */
export const DISPATCH_JOB_OPTIONS = {
  attempts: 8,
  backoff: { type: "exponential", delay: 500 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
} as const;

/** A cluster's drain: one waiting at a time per cluster (BullMQ refuses a second with its id). */
export const drainJobId = (clusterId: string) => `drain-${clusterId}`;
export const DRAIN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
} as const;

/** A `jobs-ready` message names up to this many clusters, comma-separated. */
const JOBS_READY_PER_MESSAGE = 500;

/** The cluster ids of a `jobs-ready` message. */
export const parseJobsReady = (message: string) => message.split(",").filter(Boolean);

/**
 * Implements core's JobSignals: queued jobs go to the `dispatch` queue (BullMQ jobId = our job
 * id, so a job is never dispatched twice at once), ready jobs wake the cluster's polls on every
 * API process. Failures are reported, not thrown: the job row is already committed and the
 * reconciler / poll re-check will pick it up.
 */
export function createJobSignals(options: {
  queues: Queues;
  pubsub: PubSub;
  onError?: (error: unknown) => void;
}) {
  const report = options.onError ?? (() => {});
  return {
    async jobsQueued(jobIds: string[]) {
      try {
        await options.queues.enqueueMany(
          "dispatch",
          "dispatch-job",
          jobIds.map((jobId) => ({ payload: { jobId }, options: { jobId, ...DISPATCH_JOB_OPTIONS } })),
        );
      } catch (error) {
        report(error);
      }
    },
    async jobsToExecute(clusterIds: string[]) {
      try {
        await options.queues.enqueueMany(
          "execute",
          "drain-cluster",
          clusterIds.map((clusterId) => ({
            payload: { clusterId },
            options: { jobId: drainJobId(clusterId), ...DRAIN_JOB_OPTIONS },
          })),
        );
      } catch (error) {
        report(error);
      }
    },
    async jobsReady(clusterIds: string[]) {
      for (let start = 0; start < clusterIds.length; start += JOBS_READY_PER_MESSAGE) {
        const chunk = clusterIds.slice(start, start + JOBS_READY_PER_MESSAGE);
        try {
          await options.pubsub.publish("jobs-ready", chunk.join(","));
        } catch (error) {
          report(error);
        }
      }
    },
  };
}
