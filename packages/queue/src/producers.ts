import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { JOB_CATALOG, type JobName, type JobPayload, QUEUE_NAMES, type QueueName } from "./catalog.ts";
import { connectInBackground } from "./connection.ts";

/**
 * BullMQ waits for a connection indefinitely; a request must not. After this long an enqueue
 * is reported as failed (the add may still land when Redis returns; job ids make that harmless).
 */
export const ENQUEUE_TIMEOUT_MS = 2_000;

export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms (is Redis reachable?)`)), ms);
  });
  // The abandoned operation may still fail later; that failure has nowhere to go.
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface QueuesOptions {
  /** A connection the queues may share (commands only, no blocking calls). */
  connection: Redis;
  /** BullMQ key prefix, so deployments and test files can share one Redis. */
  prefix: string;
}

/**
 * Typed producers for every queue in the catalog. Enqueue only after the database commit.
 * Queues are opened on first use, so a process that never enqueues never talks to Redis.
 */
export function createQueues({ connection, prefix }: QueuesOptions) {
  const queues = new Map<QueueName, Queue>();

  function queue(name: QueueName): Queue {
    if (!QUEUE_NAMES.includes(name)) throw new Error(`unknown queue ${name}`);
    let found = queues.get(name);
    if (!found) {
      const created = new Queue(name, {
        connection: connectInBackground(connection),
        prefix: `${prefix}:bull`,
      });
      // Connection errors surface as failed `add` calls; the event itself needs a listener.
      created.on("error", () => {});
      // A Queue made while Redis is away keeps its failed start and refuses every later call,
      // even once Redis is back: forget it, so the next use makes a new one. (Closing a Queue on
      // a shared connection leaves the connection open; it only takes the Queue's listeners off.)
      created.waitUntilReady().catch(() => {
        if (queues.get(name) === created) queues.delete(name);
        created.close().catch(() => {});
      });
      queues.set(name, created);
      found = created;
    }
    return found;
  }

  async function enqueue<Q extends QueueName, N extends JobName<Q>>(
    queueName: Q,
    jobName: N,
    payload: JobPayload<Q, N>,
    options: JobsOptions = {},
  ) {
    const schema = JOB_CATALOG[queueName][jobName] as unknown as { parse(v: unknown): unknown };
    schema.parse(payload);
    return withTimeout(
      queue(queueName).add(jobName, payload, {
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 5000 },
        ...options,
      }),
      ENQUEUE_TIMEOUT_MS,
      `enqueue ${queueName}/${jobName}`,
    );
  }

  /** Many jobs of one name in one round trip (BullMQ's addBulk), each payload checked. */
  async function enqueueMany<Q extends QueueName, N extends JobName<Q>>(
    queueName: Q,
    jobName: N,
    jobs: { payload: JobPayload<Q, N>; options?: JobsOptions }[],
  ) {
    const schema = JOB_CATALOG[queueName][jobName] as unknown as { parse(v: unknown): unknown };
    for (const job of jobs) schema.parse(job.payload);
    return withTimeout(
      queue(queueName).addBulk(
        jobs.map((job) => ({
          name: jobName,
          data: job.payload,
          opts: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 }, ...job.options },
        })),
      ),
      ENQUEUE_TIMEOUT_MS,
      `enqueue ${queueName}/${jobName}`,
    );
  }

  async function close() {
    await Promise.all([...queues.values()].map((q) => q.close()));
  }

  return { enqueue, enqueueMany, queue, close };
}

export type Queues = ReturnType<typeof createQueues>;
