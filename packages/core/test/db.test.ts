import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { terminateBackends } from "../../../test/support/pg-faults.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";
import { closeDb, createDb, type Db, isDatabaseUnavailable, prepared } from "../src/db.ts";

let database: TestDatabase;
let db: Db;
const lost: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { poolSize: 2, onConnectionLost: (error) => lost.push(error.message) });
});

afterAll(async () => {
  if (db) await closeDb(db);
  await database?.drop();
});

describe("createDb", () => {
  it("runs hot-path statements with generic plans and leaves Prisma's queries on the default", async () => {
    const show = () =>
      prepared<{ plan_cache_mode: string }>(db, "show_plan_mode", "SHOW plan_cache_mode", []);
    // Both connections of the hot-path pool, and each again after reuse.
    const modes = await Promise.all([show(), show(), show(), show()]);
    expect(modes.map(([row]) => row?.plan_cache_mode)).toEqual(Array(4).fill("force_generic_plan"));
    const [prisma] = await db.$queryRawUnsafe<{ plan_cache_mode: string }[]>("SHOW plan_cache_mode");
    expect(prisma?.plan_cache_mode).toBe("auto");
  });

  it("cuts hot-path statements off after 15 s and row-lock waits after 5 s", async () => {
    const [settings] = await prepared<{ statement: string; lock: string }>(
      db,
      "show_timeouts",
      "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock",
      [],
    );
    expect(settings).toEqual({ statement: "15s", lock: "5s" });
  });

  it("gives Prisma's sessions the same statement and lock timeouts", async () => {
    const [settings] = await db.$queryRaw<{ statement: string; lock: string }[]>`
      SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock`;
    expect(settings).toEqual({ statement: "15s", lock: "5s" });
  });

  it("reads timestamp columns as UTC on the hot path", async () => {
    const [row] = await prepared<{ at: Date }>(
      db,
      "utc",
      "SELECT '2026-11-27 10:00:00.123'::timestamp AS at",
      [],
    );
    expect(row?.at.toISOString()).toBe("2026-11-27T10:00:00.123Z");
  });
});

describe("a session the server ends", () => {
  it("fails the statements in flight, reports the connection lost and goes on with new connections", async () => {
    // Both pools busy when the server ends every session: a hot-path statement (a client checked
    // out of its pool) and a Prisma transaction between two statements.
    const hot = prepared(db, "sleep", "SELECT pg_sleep(5)::text", []).then(
      () => undefined,
      (error: unknown) => error,
    );
    const transaction = db
      .$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await new Promise((resolve) => setTimeout(resolve, 600));
        await tx.$queryRaw`SELECT 2`;
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await terminateBackends(database.name)).toBeGreaterThanOrEqual(2);

    const hotError = await hot;
    expect(isDatabaseUnavailable(hotError)).toBe(true);
    expect(await transaction).toBeInstanceOf(Error);
    expect(lost.length).toBeGreaterThan(0);
    // Broken connections were discarded: both pools answer again at once.
    expect(await prepared<{ one: number }>(db, "one", "SELECT 1 AS one", [])).toEqual([{ one: 1 }]);
    expect(await db.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });
});

describe("sessions ended while statements come and go", () => {
  it("never leaves a checked-out connection without an error listener (the process would die)", async () => {
    // A session ended between two statements on a checked-out client (the server's FATAL message
    // arriving with no statement in flight) is an 'error' event on that client: without a
    // listener, the process dies. Many short statements make that moment likely.
    let running = true;
    const failures: unknown[] = [];
    const loop = async () => {
      while (running) {
        await prepared(db, "one", "SELECT 1 AS one", []).catch((error: unknown) => failures.push(error));
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    for (let round = 0; round < 30; round++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await terminateBackends(database.name);
    }
    running = false;
    await Promise.all(loops);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every(isDatabaseUnavailable)).toBe(true);
  });
});

describe("a server that stops answering", () => {
  it("fails statements in flight within their timeout plus 2 s, on both pools, and recovers", async () => {
    const url = new URL(database.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const partitioned = createDb(url.toString(), { poolSize: 2, statementTimeoutMs: 1_000 });
    try {
      // Connections are open and their sessions set up before the partition.
      await prepared(partitioned, "one", "SELECT 1 AS one", []);
      await partitioned.$queryRaw`SELECT 1`;
      proxy.stall();
      const started = performance.now();
      const [hot, viaPrisma] = await Promise.all([
        prepared(partitioned, "one", "SELECT 1 AS one", []).catch((error: unknown) => error),
        partitioned.$queryRaw`SELECT 1`.catch((error: unknown) => error),
      ]);
      const elapsed = performance.now() - started;
      expect(isDatabaseUnavailable(hot)).toBe(true);
      expect(String(viaPrisma)).toMatch(/Connection terminated|sent nothing/);
      expect(elapsed).toBeLessThan(6_000);

      await proxy.restore();
      expect(await prepared(partitioned, "one", "SELECT 1 AS one", [])).toEqual([{ one: 1 }]);
      expect(await partitioned.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    } finally {
      await proxy.restore();
      await closeDb(partitioned);
      await proxy.close();
    }
  });
});
