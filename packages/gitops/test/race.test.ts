import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createPgAdvisoryLock, type RepoLock } from "../src/index.ts";
import { createScratchDatabase } from "./support/database.ts";
import { CLUSTER_SLUG, desiredState, upsertChange } from "./support/desired-state.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { commitsOf, fileAt } from "./support/repositories.ts";

let database: Awaited<ReturnType<typeof createScratchDatabase>>;
let fixture: GitFixture;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  database = await createScratchDatabase();
  fixture = await startGitFixture();
});
afterAll(async () => {
  await fixture.close();
  await Promise.all(pools.map((pool) => pool.end()));
  await database.drop();
});

/** The lock as a worker holds it, with the time spans it was held, to show they never overlap. */
function recordedLock(lock: RepoLock, spans: [number, number][]): RepoLock {
  return {
    withLock: (key, work) =>
      lock.withLock(key, async () => {
        const start = performance.now();
        try {
          return await work();
        } finally {
          spans.push([start, performance.now()]);
        }
      }),
  };
}

describe("two workers on one branch", () => {
  it("take turns through the advisory lock: no lost update, no lost race, every change in history", async () => {
    const spans: [number, number][] = [];
    const worker = async (name: string) => {
      const pool = new pg.Pool({ connectionString: database.url, max: 2 });
      // pool.end() resolves before its sockets close; the DROP … WITH (FORCE) after it may end them.
      pool.on("error", () => {});
      pools.push(pool);
      return fixture.engine({
        workRoot: join(fixture.root, `work-${name}`),
        lock: recordedLock(createPgAdvisoryLock(pool), spans),
      });
    };
    const [alpha, beta] = await Promise.all([worker("alpha"), worker("beta")]);
    const binding = fixture.binding();
    await alpha.applyChange({
      binding,
      change: { type: "replace-cluster", state: desiredState([]) },
      jobId: "init",
      idempotencyKey: "init",
    });

    const names = ["a1", "b1", "a2", "b2", "a3", "b3"];
    const results = await Promise.all(
      names.map((name) =>
        (name.startsWith("a") ? alpha : beta).applyChange({
          binding,
          change: upsertChange(name),
          jobId: `job-${name}`,
          idempotencyKey: `key-${name}`,
        }),
      ),
    );

    // The lock kept every push on a fresh head: none had to be retried.
    expect(results.map((result) => result.outcome === "committed" && result.attempts)).toEqual(
      names.map(() => 1),
    );
    const sorted = [...spans].sort((a, b) => a[0] - b[0]);
    const overlaps = sorted.slice(1).filter(([start], index) => start < (sorted[index]?.[1] ?? 0));
    expect(sorted).toHaveLength(names.length + 1);
    expect(overlaps).toEqual([]);

    const history = await commitsOf(fixture.bare, "main");
    expect(history).toHaveLength(names.length + 2);
    // A straight line: each commit's only parent is the one before it.
    expect(history.slice(0, -1).map((commit) => commit.parents)).toEqual(
      history.slice(1).map((commit) => [commit.sha]),
    );
    const kustomization = parse(
      await fileAt(fixture.bare, "main", `clusters/${CLUSTER_SLUG}/kustomization.yaml`),
    );
    expect(kustomization.resources).toEqual([
      ...names.sort().map((name) => `apps/org-acme/${name}.yaml`),
      "cluster.yaml",
      "namespaces/org-acme.yaml",
    ]);
  });
});
