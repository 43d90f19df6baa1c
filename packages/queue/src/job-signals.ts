import type { Redis } from "ioredis";
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
/**
 * Set by every drain signal before its enqueue, cleared when a drain starts: "a signal came since
 * the last drain began". See `createDrainGate`. It expires as hygiene; the sweep is the backstop.
 */
const drainPendingKey = (prefix: string, clusterId: string) => `${prefix}:drain-pending:${clusterId}`;
const DRAIN_PENDING_SECONDS = 3_600;
export const DRAIN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
} as const;

/** Failed dispatch enqueues one process keeps trying again; beyond, the reconciler's. */
const MAX_UNDISPATCHED = 10_000;

/** A `jobs-ready` message names up to this many clusters, comma-separated. */
const JOBS_READY_PER_MESSAGE = 500;

/** The cluster ids of a `jobs-ready` message. */
export const parseJobsReady = (message: string) => message.split(",").filter(Boolean);

/**
 * Implements core's JobSignals: queued jobs go to the `dispatch` queue (BullMQ jobId = our job
 * id, so a job is never dispatched twice at once), ready jobs wake the cluster's polls on every
 * API process. Failures are reported, not thrown: the job row is already committed. Dispatch
 * enqueues that failed (Redis failing over, restarting) are tried again from this process until
 * they go through, so such jobs move on as soon as Redis is back; the worker's reconciler remains
 * the backstop should this process die first. A lost wake-up costs a poll's re-check.
 */
export function createJobSignals(options: {
  queues: Queues;
  pubsub: PubSub;
  /** The command connection and key prefix the drain-pending marks are kept with. */
  redis: Redis;
  prefix: string;
  onError?: (error: unknown) => void;
  /** Delays between tries of a failed dispatch enqueue (doubling). */
  dispatchRetryMs?: { first: number; max: number };
}) {
  const report = options.onError ?? (() => {});
  const retryMs = options.dispatchRetryMs ?? { first: 500, max: 10_000 };
  /** Dispatch enqueues that failed, tried again until they go through (bounded: the reconciler has the rest). */
  const undispatched = new Set<string>();
  let retry: NodeJS.Timeout | undefined;

  const enqueueDispatch = (jobIds: string[]) =>
    options.queues.enqueueMany(
      "dispatch",
      "dispatch-job",
      jobIds.map((jobId) => ({ payload: { jobId }, options: { jobId, ...DISPATCH_JOB_OPTIONS } })),
    );

  function retryLater(delayMs: number) {
    if (retry) return;
    retry = setTimeout(async () => {
      const ids = [...undispatched];
      try {
        await enqueueDispatch(ids);
        for (const id of ids) undispatched.delete(id);
        retry = undefined;
        if (undispatched.size > 0) retryLater(retryMs.first);
      } catch (error) {
        report(error);
        retry = undefined;
        retryLater(Math.min(delayMs * 2, retryMs.max));
      }
    }, delayMs);
    // Never holds the process open: what is left at exit is the reconciler's.
    retry.unref();
  }

  return {
    async jobsQueued(jobIds: string[]) {
      try {
        await enqueueDispatch(jobIds);
      } catch (error) {
        report(error);
        for (const id of jobIds) if (undispatched.size < MAX_UNDISPATCHED) undispatched.add(id);
        retryLater(retryMs.first);
      }
    },
    /** How many failed dispatch enqueues wait to be tried again. */
    undispatched: () => undispatched.size,
    /** Stops trying again (shutdown). */
    stop() {
      clearTimeout(retry);
      retry = undefined;
    },
    async jobsToExecute(clusterIds: string[]) {
      if (clusterIds.length === 0) return;
      try {
        // Marked before the enqueue: should BullMQ refuse it because this cluster's drain is
        // still running, that drain's completion sees the mark and asks for another.
        await options.redis
          .pipeline(
            clusterIds.map((clusterId) => [
              "set",
              drainPendingKey(options.prefix, clusterId),
              "1",
              "EX",
              String(DRAIN_PENDING_SECONDS),
            ]),
          )
          .exec();
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

/**
 * Closes the gap between a drain finishing and its BullMQ id being free again. A signal that
 * arrives while a cluster's drain runs is refused by BullMQ (the id is taken), and that drain may
 * already have made its last claim; without this the job would wait for the backstop sweep.
 * Every signal marks the cluster first; a drain clears the mark as it starts (`opening`), and when
 * its BullMQ job has completed and the id is free (`closed`, from the Worker's completed event)
 * a mark set meanwhile asks for one more drain. A mark set after `closed` came with an enqueue that
 * BullMQ accepted, so no signal is lost; a crash between the two costs latency, not the job.
 */
export function createDrainGate(options: {
  redis: Redis;
  prefix: string;
  signals: Pick<ReturnType<typeof createJobSignals>, "jobsToExecute">;
}) {
  return {
    /** A drain of the cluster starts: signals from here on ask for another drain. */
    async opening(clusterId: string): Promise<void> {
      await options.redis.del(drainPendingKey(options.prefix, clusterId));
    },
    /** The cluster's drain job completed: drain again if a signal came while it ran. */
    async closed(clusterId: string): Promise<boolean> {
      if ((await options.redis.exists(drainPendingKey(options.prefix, clusterId))) === 0) return false;
      await options.signals.jobsToExecute([clusterId]);
      return true;
    },
  };
}

export type DrainGate = ReturnType<typeof createDrainGate>;
