import { closeDb, createDb, type Db, prepared } from "@vwksp/core";
import { createRedis } from "@vwksp/queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { terminateBackends } from "../../../test/support/pg-faults.ts";
import { TEST_REDIS_URL } from "../../../test/support/pg-urls.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";
import { toEnvelope } from "../src/http/errors.ts";

// The errors PostgreSQL and Redis really raise when they go away, stop answering or are too
// busy — produced here, not imitated — each answered 503 with Retry-After, never a 500.
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { poolSize: 2 });
});

afterAll(async () => {
  if (db) await closeDb(db);
  await database?.drop();
});

const failureOf = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => error as Error,
  );

function expectUnavailable(error: Error) {
  const envelope = toEnvelope(error);
  expect(envelope, error.message).toMatchObject({ status: 503, code: "unavailable" });
  expect(envelope.retryAfter).toBeGreaterThan(0);
}

describe("dependency errors", () => {
  it("a transaction that runs out of time (Prisma P2028) is a 503", async () => {
    const error = await failureOf(
      db.$transaction(
        async (tx) => {
          await tx.$queryRaw`SELECT pg_sleep(0.3)`.catch(() => {});
          await tx.$queryRaw`SELECT 1`;
        },
        { timeout: 100 },
      ),
    );
    expect((error as { code?: string }).code).toBe("P2028");
    expectUnavailable(error);
  });

  it("a session the server ended in the middle of a transaction is a 503", async () => {
    const error = await failureOf(
      db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await terminateBackends(database.name);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.$queryRaw`SELECT 2`;
      }),
    );
    expectUnavailable(error);
  });

  it("a hot-path statement whose session the server ends is a 503", async () => {
    const statement = failureOf(prepared(db, "sleep", "SELECT pg_sleep(3)::text", []));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await terminateBackends(database.name);
    expectUnavailable(await statement);
  });

  it("a Redis command that gets no answer is a 503", async () => {
    const server = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 6379) });
    const redis = createRedis(`redis://127.0.0.1:${proxy.port}`, "commands");
    try {
      await redis.ping();
      proxy.stall();
      expectUnavailable(await failureOf(redis.incr("vwt-dependency-errors")));
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });
});
