import type { Logger } from "@vwksp/core";
import {
  createRedis,
  type JobName,
  type JobPayload,
  parsePayload,
  type QueueName,
  type RedisTarget,
} from "@vwksp/queue";
import { type Job, UnrecoverableError, Worker, type WorkerOptions } from "bullmq";
import type { Redis } from "ioredis";

/** Runs one BullMQ job; its payload is parsed against the job catalog before it is called. */
export type Processor<Payload = unknown> = (payload: Payload, job: Job) => Promise<unknown>;

/** Processors by queue and job name, each given its own payload type; a queue with none gets no Worker. */
export type ProcessorMap = { [Q in QueueName]?: { [N in JobName<Q>]?: Processor<JobPayload<Q, N>> } };

export interface RuntimeOptions {
  /** REDIS_URL, or the sentinels or cluster nodes (`redisTarget(config)`). */
  redisUrl: RedisTarget | string;
  prefix: string;
  logger: Logger;
  processors: ProcessorMap;
  concurrency?: Partial<Record<QueueName, number>>;
  /** Per-queue BullMQ settings, e.g. a custom backoff strategy. */
  settings?: Partial<Record<QueueName, WorkerOptions["settings"]>>;
  /** Called with each job a queue's Worker completed (after BullMQ recorded it). */
  onCompleted?: Partial<Record<QueueName, (job: Job) => void>>;
  /** Told of every job a Worker finished or failed, with its processing time (metrics). */
  onJobDone?: (queue: QueueName, name: string, outcome: "completed" | "failed", durationMs?: number) => void;
}

/** Processing time of a finished BullMQ job, from the timestamps BullMQ keeps on it. */
const durationOf = (job: Job | undefined) =>
  job?.processedOn && job.finishedOn ? job.finishedOn - job.processedOn : undefined;

/**
 * Jobs a queue's Worker runs at once. Dispatch jobs mostly wait for PostgreSQL, and the more of
 * them run together, the more share one statement (the dispatch service batches them).
 */
const DEFAULT_CONCURRENCY: Partial<Record<QueueName, number>> = { dispatch: 32 };

/**
 * A dispatch job takes milliseconds; when its worker dies (kill -9), the job is "stalled" until
 * its lock runs out and a worker's stall check sees it. BullMQ's 30 s defaults left up to 32
 * jobs waiting about a minute; these bring that down to about 15 s. (Dispatch is idempotent, so
 * a job taken twice after a long pause of its worker does no harm.)
 */
const STALL_DETECTION: Partial<Record<QueueName, Pick<WorkerOptions, "lockDuration" | "stalledInterval">>> = {
  dispatch: { lockDuration: 10_000, stalledInterval: 5_000 },
};

/**
 * While Redis is away every reconnect attempt of every connection is an error event: one line
 * per queue in this interval says so, with how many were left out.
 */
const ERROR_LOG_EVERY_MS = 10_000;

function throttled<T>(everyMs: number, log: (value: T, suppressed: number) => void) {
  let last = 0;
  let suppressed = 0;
  return (value: T) => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed += 1;
      return;
    }
    log(value, suppressed);
    last = now;
    suppressed = 0;
  };
}

/**
 * One BullMQ Worker per queue that has processors, sharing one blocking connection factory.
 * Payloads are validated against the job catalog; a payload that does not parse is
 * unrecoverable (retrying cannot fix it).
 */
export function startWorkerRuntime({
  redisUrl,
  prefix,
  logger,
  processors,
  concurrency = {},
  settings = {},
  onCompleted = {},
  onJobDone,
}: RuntimeOptions) {
  const workers: Worker[] = [];
  const connections: Redis[] = [];

  // Each processor gets the payload its catalog entry parsed, so it is called as a plain Processor.
  for (const [queueName, byName] of Object.entries(processors) as unknown as [
    QueueName,
    Record<string, Processor>,
  ][]) {
    const connection = createRedis(redisUrl, "blocking");
    connections.push(connection);
    const worker = new Worker(
      queueName,
      async (job) => {
        const processor = byName[job.name];
        if (!processor) throw new UnrecoverableError(`no processor for ${queueName}/${job.name}`);
        let payload: unknown;
        try {
          payload = parsePayload(queueName, job.name as JobName<typeof queueName>, job.data);
        } catch (error) {
          throw new UnrecoverableError(`invalid payload for ${queueName}/${job.name}: ${String(error)}`);
        }
        return processor(payload, job);
      },
      {
        connection,
        prefix: `${prefix}:bull`,
        concurrency: concurrency[queueName] ?? DEFAULT_CONCURRENCY[queueName] ?? 5,
        ...STALL_DETECTION[queueName],
        ...(settings[queueName] ? { settings: settings[queueName] } : {}),
      },
    );
    worker.on("completed", (job) => {
      onJobDone?.(queueName, job.name, "completed", durationOf(job));
      onCompleted[queueName]?.(job);
    });
    worker.on("failed", (job, error) => {
      onJobDone?.(queueName, job?.name ?? "unknown", "failed", durationOf(job));
      logger.warn(
        { queue: queueName, job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: error },
        "job failed",
      );
    });
    worker.on(
      "error",
      throttled(ERROR_LOG_EVERY_MS, (error: Error, suppressed) =>
        logger.error({ queue: queueName, err: error, ...(suppressed ? { suppressed } : {}) }, "worker error"),
      ),
    );
    workers.push(worker);
  }

  return {
    workers,
    /** Lets running jobs finish, then closes every worker and connection. */
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      for (const connection of connections) connection.disconnect();
    },
  };
}

export type WorkerRuntime = ReturnType<typeof startWorkerRuntime>;
