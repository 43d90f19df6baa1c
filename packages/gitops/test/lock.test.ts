import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgAdvisoryLock, repoLockKey } from "../src/index.ts";
import { createScratchDatabase } from "./support/database.ts";
import { rejectionOf } from "./support/rejection.ts";

let database: Awaited<ReturnType<typeof createScratchDatabase>>;
const pools: pg.Pool[] = [];
/** One pool per simulated worker: its own PostgreSQL sessions, like another process. */
const workerPool = () => {
  const pool = new pg.Pool({ connectionString: database.url, max: 3 });
  pool.on("error", () => {}); // an idle session ended by the server: the pool replaces it
  pools.push(pool);
  return pool;
};

beforeAll(async () => {
  database = await createScratchDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await database.drop();
});

/** A promise and the function that resolves it. */
const gate = () => {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
};

/** Until a session of this database waits for an advisory lock. */
async function waitUntilSomeoneWaits(pool: pg.Pool) {
  for (let tries = 0; tries < 200; tries++) {
    const { rows } = await pool.query<{ waiting: number }>(
      `SELECT count(*)::int AS waiting FROM pg_locks
       WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    if ((rows[0]?.waiting ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("nobody waited for the lock");
}

describe("createPgAdvisoryLock", () => {
  it("lets one worker at a time hold a branch, and other branches go on meanwhile", async () => {
    const first = createPgAdvisoryLock(workerPool());
    const second = createPgAdvisoryLock(workerPool());
    const key = repoLockKey("https://git.example.org/fleet.git", "main");
    const events: string[] = [];
    const held = gate();
    const release = gate();
    const firstRun = first.withLock(key, async () => {
      events.push("first in");
      held.open();
      await release.opened;
      events.push("first out");
    });
    await held.opened;
    const secondRun = second.withLock(key, async () => {
      events.push("second in");
    });
    const otherBranch = await second.withLock(
      repoLockKey("https://git.example.org/fleet.git", "staging"),
      async () => {
        events.push("other branch");
        return "done";
      },
    );
    expect(otherBranch).toBe("done");
    release.open();
    await Promise.all([firstRun, secondRun]);
    expect(events).toEqual(["first in", "other branch", "first out", "second in"]);
  });

  it("gives up waiting with LockTimeout", async () => {
    const holder = createPgAdvisoryLock(workerPool());
    const waiter = createPgAdvisoryLock(workerPool(), { timeoutMs: 200 });
    const held = gate();
    const release = gate();
    const holding = holder.withLock("gitops:timeout#main", async () => {
      held.open();
      await release.opened;
    });
    await held.opened;
    const error = await rejectionOf(waiter.withLock("gitops:timeout#main", async () => "never"));
    expect(error).toMatchObject({ reason: "LockTimeout", retryable: true });
    release.open();
    await holding;
    expect(await waiter.withLock("gitops:timeout#main", async () => "after")).toBe("after");
  });

  it("releases the lock when the work fails, and when the holder's session dies", async () => {
    const pool = workerPool();
    const lock = createPgAdvisoryLock(pool, { timeoutMs: 5_000 });
    await expect(lock.withLock("gitops:fail#main", () => Promise.reject(new Error("boom")))).rejects.toThrow(
      "boom",
    );
    expect(await lock.withLock("gitops:fail#main", async () => "free again")).toBe("free again");

    // A worker killed mid-push: PostgreSQL ends its session, and the lock goes with it.
    const doomed = new pg.Client({ connectionString: database.url });
    await doomed.connect();
    doomed.on("error", () => {});
    await doomed.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", ["gitops:dead#main"]);
    const { rows } = await doomed.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const waiting = lock.withLock("gitops:dead#main", async () => "taken over");
    const observer = workerPool();
    await waitUntilSomeoneWaits(observer);
    await observer.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
    expect(await waiting).toBe("taken over");
    await doomed.end().catch(() => {});
  });

  it("survives the holder's own session dying mid-work: the work finishes, the worker lives on", async () => {
    const lock = createPgAdvisoryLock(workerPool(), { timeoutMs: 5_000 });
    const observer = workerPool();
    const result = await lock.withLock("gitops:failover#main", async () => {
      // A failover ends the session that holds the lock while the push is under way.
      await observer.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      return "pushed";
    });
    expect(result).toBe("pushed");
    expect(await lock.withLock("gitops:failover#main", async () => "again")).toBe("again");
  });

  it("keys a repository however its URL is spelled", () => {
    expect(repoLockKey("https://Git.Example.org/Fleet.git/", "main")).toBe(
      repoLockKey("https://git.example.org/Fleet", "main"),
    );
    expect(repoLockKey("git@github.com:acme/fleet.git", "main")).toBe(
      "gitops:git@github.com:acme/fleet#main",
    );
    expect(repoLockKey("https://git.example.org/fleet", "main")).not.toBe(
      repoLockKey("https://git.example.org/fleet", "dev"),
    );
  });
});
