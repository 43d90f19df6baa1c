import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { freePort, type ServiceProcess, startProcess } from "../../../test/support/processes.ts";

// A worker started while Redis cannot be reached says so in words a person can act on: which
// Redis (without its password) and why — not ioredis' "Reached the max retries per request limit".

let db: TestDatabase;
let worker: ServiceProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await worker?.stop();
  await db?.drop();
});

describe("the worker with Redis unreachable", () => {
  it("names the Redis URL and the reason, and waits", async () => {
    const port = await freePort();
    worker = startProcess("worker", "apps/worker/src/main.ts", [], {
      DATABASE_URL: db.url,
      REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`,
      REDIS_PREFIX: "vwksp-unreachable-test",
      LOG_LEVEL: "info",
    });
    const line = await worker.waitFor(/Redis is unreachable at [^"]*/);
    expect(line[0]).toBe(
      `Redis is unreachable at redis://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}). Is the server running and REDIS_URL right? The worker is waiting for Redis before it starts.`,
    );
    expect(worker.text()).not.toContain("max retries");
    expect(worker.text()).not.toContain("hunter2");
    expect(worker.child.exitCode).toBeNull();
  });
});
