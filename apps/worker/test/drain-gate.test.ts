import { randomUUID } from "node:crypto";
import { createLogger } from "@vwksp/core";
import { createDrainGate, createJobSignals, createPubSub, createQueues, createRedis } from "@vwksp/queue";
import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";
import { startWorkerRuntime } from "../src/runtime.ts";

// The race the drain gate closes, made deterministic: a drain signal arrives while the cluster's
// drain is still running (after its last claim, say), so BullMQ refuses it — the drain's id is
// taken. With the gate the completed drain asks for another at once; without it the job waited
// for the backstop sweep (5 s).

const redisEnv = createTestRedisPrefix();
const connection = createRedis(redisEnv.url, "commands");
const queues = createQueues({ connection, prefix: redisEnv.prefix });
const pubsub = createPubSub({ url: redisEnv.url, prefix: redisEnv.prefix, publisher: connection });
const signals = createJobSignals({ queues, pubsub, redis: connection, prefix: redisEnv.prefix });
const gate = createDrainGate({ redis: connection, prefix: redisEnv.prefix, signals });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await queues.close();
  await pubsub.close();
  connection.disconnect();
  await redisEnv.cleanup();
});

/** A worker whose drains record themselves; the first one holds until `release`. */
function drainingWorker(withGate: boolean) {
  const drains: string[] = [];
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const runtime = startWorkerRuntime({
    redisUrl: redisEnv.url,
    prefix: redisEnv.prefix,
    logger: createLogger("silent", "worker"),
    processors: {
      execute: {
        "drain-cluster": async ({ clusterId }) => {
          if (withGate) await gate.opening(clusterId);
          drains.push(clusterId);
          if (drains.length === 1) await held;
          return { finished: 0 };
        },
      },
    },
    ...(withGate
      ? { onCompleted: { execute: (job) => void gate.closed((job.data as { clusterId: string }).clusterId) } }
      : {}),
  });
  return { drains, release, close: () => runtime.close() };
}

/** A signal that arrives while the cluster's first drain runs: BullMQ refuses the second job. */
async function signalDuringDrain(worker: ReturnType<typeof drainingWorker>, clusterId: string) {
  await signals.jobsToExecute([clusterId]);
  await eventually(async () => worker.drains.length === 1, 5_000);
  await signals.jobsToExecute([clusterId]);
  expect(await queues.queue("execute").getJobCounts("wait", "active")).toEqual({ wait: 0, active: 1 });
  worker.release();
}

describe("the drain gate", () => {
  it("drains again at once when a signal was refused because the cluster's drain was running", async () => {
    const worker = drainingWorker(true);
    const clusterId = randomUUID();
    try {
      await signalDuringDrain(worker, clusterId);
      await eventually(async () => worker.drains.length === 2, 3_000);
      // The second drain cleared the mark: nothing asks for a third.
      await sleep(500);
      expect(worker.drains).toEqual([clusterId, clusterId]);
    } finally {
      await worker.close();
    }
  });

  it("(without it, BullMQ alone drops that signal: the job would wait for the backstop sweep)", async () => {
    const worker = drainingWorker(false);
    const clusterId = randomUUID();
    try {
      await signalDuringDrain(worker, clusterId);
      await sleep(1_000);
      expect(worker.drains).toEqual([clusterId]);
    } finally {
      await worker.close();
    }
  });

  it("does not drain again when no signal came while the drain ran", async () => {
    const worker = drainingWorker(true);
    const clusterId = randomUUID();
    try {
      await signals.jobsToExecute([clusterId]);
      await eventually(async () => worker.drains.length === 1, 5_000);
      worker.release();
      await sleep(500);
      expect(worker.drains).toEqual([clusterId]);
      expect(await gate.closed(clusterId)).toBe(false);
    } finally {
      await worker.close();
    }
  });
});
