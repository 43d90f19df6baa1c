import { createLogger } from "@vwksp/core";
import { createQueues, createRedis } from "@vwksp/queue";
import { afterAll, describe, expect, it } from "vitest";
import { createLogCapture } from "../../../test/support/app.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";
import { startWorkerRuntime } from "../src/runtime.ts";

const redisEnv = createTestRedisPrefix();
const connection = createRedis(redisEnv.url, "commands");
const queues = createQueues({ connection, prefix: redisEnv.prefix });

afterAll(async () => {
  await queues.close();
  connection.disconnect();
  await redisEnv.cleanup();
});

describe("worker runtime", () => {
  it("processes catalog jobs, reports failures and invalid payloads, and closes gracefully", async () => {
    const logs = createLogCapture();
    const seen: string[] = [];
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runtime = startWorkerRuntime({
      redisUrl: redisEnv.url,
      prefix: redisEnv.prefix,
      logger: createLogger("info", "worker", logs.stream),
      processors: {
        maintenance: {
          "sweep-jobs": async () => {
            seen.push("sweep");
          },
          "prune-events": async () => {
            throw new Error("prune exploded");
          },
          "check-heartbeats": async () => {
            seen.push("slow-start");
            await slow;
            seen.push("slow-end");
          },
        },
      },
    });
    expect(runtime.workers.map((worker) => worker.name)).toEqual(["maintenance"]);

    await queues.enqueue("maintenance", "sweep-jobs", {});
    await queues.enqueue("maintenance", "prune-events", {});
    await queues.queue("maintenance").add("reconcile-queued", { unexpected: "no processor" });
    await waitFor(() => logs.text().includes("prune exploded") && logs.text().includes("no processor for"));
    expect(seen).toContain("sweep");

    // A job in flight when close() is called finishes before the worker stops.
    await queues.enqueue("maintenance", "check-heartbeats", {});
    await waitFor(() => seen.includes("slow-start"));
    const closing = runtime.close();
    setTimeout(release, 100);
    await closing;
    expect(seen.at(-1)).toBe("slow-end");
    const completed = await queues.queue("maintenance").getCompletedCount();
    expect(completed).toBe(2);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000) {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
