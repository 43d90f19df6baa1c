import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { TEST_REDIS_URL } from "../../../test/support/pg-urls.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";
import { createRedis } from "../src/connection.ts";
import { createJobSignals } from "../src/job-signals.ts";
import { createQueues } from "../src/producers.ts";
import { createPubSub } from "../src/pubsub.ts";

// A dispatch enqueue that fails because Redis is away (a failover, a restart) is tried again
// from the process that made the job, so the job moves on as soon as Redis is back instead of
// waiting for the worker's reconciler (every 30 s, for jobs older than 10 s). The dispatch queue
// is first used during the outage, as in an API started while Redis is away: BullMQ keeps such a
// Queue's failed start, so createQueues makes a new one once Redis is back.

const redisEnv = createTestRedisPrefix();
afterAll(() => redisEnv.cleanup());

describe("dispatch enqueues while Redis is away", () => {
  it("are tried again until Redis is back, then go through once", async () => {
    const server = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 6379) });
    // The service's connection goes through the proxy; the test reads the queue directly.
    const redis = createRedis(`redis://127.0.0.1:${proxy.port}`, "commands");
    const direct = createRedis(redisEnv.url, "commands");
    const queues = createQueues({ connection: redis, prefix: redisEnv.prefix });
    const observed = createQueues({ connection: direct, prefix: redisEnv.prefix });
    const pubsub = createPubSub({ url: redisEnv.url, prefix: redisEnv.prefix, publisher: redis });
    const errors: unknown[] = [];
    const signals = createJobSignals({
      queues,
      pubsub,
      redis,
      prefix: redisEnv.prefix,
      onError: (error) => errors.push(error),
      dispatchRetryMs: { first: 100, max: 400 },
    });
    try {
      expect(await redis.ping()).toBe("PONG");
      await proxy.cut();
      await signals.jobsQueued(["j-during-outage-1", "j-during-outage-2"]);
      expect(errors.length).toBeGreaterThan(0);
      expect(signals.undispatched()).toBe(2);
      // Still away: the tries go on (and are reported), nothing is dropped.
      await eventually(async () => errors.length >= 3, 10_000);
      expect(signals.undispatched()).toBe(2);

      await proxy.restore();
      await eventually(async () => signals.undispatched() === 0, 10_000);
      const dispatch = observed.queue("dispatch");
      const jobs = await Promise.all(
        ["j-during-outage-1", "j-during-outage-2"].map((id) => dispatch.getJob(id)),
      );
      expect(jobs.map((job) => job?.data)).toEqual([
        { jobId: "j-during-outage-1" },
        { jobId: "j-during-outage-2" },
      ]);
      expect(await dispatch.getJobCountByTypes("wait", "delayed", "prioritized")).toBe(2);
    } finally {
      signals.stop();
      pubsub.close();
      await queues.close();
      await observed.close();
      redis.disconnect();
      direct.disconnect();
      await proxy.close();
    }
  });
});
