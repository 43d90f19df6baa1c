import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { closeDb, createDb, type Db, prepared } from "../src/db.ts";

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
