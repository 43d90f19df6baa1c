import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  type AgentJobShape,
  ack,
  adminKey,
  eventually,
  poll,
  postResult,
  postStatus,
  rawJob,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// Concurrent agent requests share SQL statements (createBatcher: claims, acks, statuses, results,
// credential lookups). These tests send many at once, so they land in shared statements, and
// check that each request still gets exactly its own answer and audit row.

let env: TestEnv;
const clock = manualClock(new Date());
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock, longPollRecheckMs: 200 });
  worker = createTestWorker({ env, clock });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

const CLUSTERS = 6;
const JOBS_PER_CLUSTER = 4;

async function clustersWithReadyJobs() {
  const clusters = await Promise.all(Array.from({ length: CLUSTERS }, () => registeredCluster(harness, key)));
  const jobIds = new Map<string, string[]>();
  for (const { cluster } of clusters) {
    const ids: string[] = [];
    for (let index = 0; index < JOBS_PER_CLUSTER; index += 1) {
      ids.push((await rawJob(harness, key, cluster.id, `batch-${index}`)).jobId);
    }
    jobIds.set(cluster.id, ids);
  }
  const all = [...jobIds.values()].flat();
  await eventually(async () => {
    const ready = await harness.deps.db.job.count({ where: { id: { in: all }, state: "ready" } });
    return ready === all.length;
  });
  return { clusters, jobIds };
}

const auditCount = (kind: string, jobIds: string[]) =>
  harness.deps.db.auditEntry.count({
    where: { kind, OR: jobIds.map((jobId) => ({ data: { path: ["jobId"], equals: jobId } })) },
  });

describe("agent transitions sent at once", () => {
  it("hand each poll only its own cluster's jobs, oldest first, never one job to two polls", async () => {
    const { clusters, jobIds } = await clustersWithReadyJobs();
    // Two polls per cluster, all at once.
    const answers = await Promise.all(
      clusters.flatMap(({ cluster, credential }) =>
        [0, 1].map(async () => ({
          clusterId: cluster.id,
          jobs: await poll(harness, cluster.id, credential),
        })),
      ),
    );
    const delivered = answers.flatMap((answer) => answer.jobs.map((job) => job.id));
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(delivered).toHaveLength(CLUSTERS * JOBS_PER_CLUSTER);
    for (const answer of answers) {
      const own = jobIds.get(answer.clusterId) ?? [];
      const ids = answer.jobs.map((job: AgentJobShape) => job.id);
      expect(ids.every((id) => own.includes(id))).toBe(true);
      expect(ids).toEqual([...ids].sort());
    }
    expect(await auditCount("JobDelivered", delivered)).toBe(delivered.length);
  });

  it("answer acks and results each on their own: 204, 404, 409 and 400 side by side", async () => {
    const { clusters, jobIds } = await clustersWithReadyJobs();
    await Promise.all(clusters.map(({ cluster, credential }) => poll(harness, cluster.id, credential)));
    const [first, second] = clusters;
    if (!first || !second) throw new Error("fixture");
    const all = clusters.flatMap(({ cluster, credential }) =>
      (jobIds.get(cluster.id) ?? []).map((jobId) => ({ jobId, credential })),
    );

    const acks = await Promise.all([
      ...all.map(({ jobId, credential }) => ack(harness, jobId, credential)),
      ack(harness, "j-00000000000000000000000000", first.credential),
      // Another cluster's job is not found for this agent.
      ack(harness, jobIds.get(second.cluster.id)?.[0] ?? "", first.credential),
    ]);
    expect(acks.map((response) => response.statusCode)).toEqual([...all.map(() => 204), 404, 404]);
    expect(
      await auditCount(
        "JobAcked",
        all.map(({ jobId }) => jobId),
      ),
    ).toBe(all.length);

    const statusOf = (phase: string) => ({
      phase,
      conditions: [
        { type: "Progressing", status: "True", reason: phase, message: "", lastTransitionTime: null },
      ],
      timestamp: "2026-11-27T07:30:00.123456789Z",
    });
    const [firstJob] = all;
    if (!firstJob) throw new Error("fixture");
    const statuses = await Promise.all([
      ...all.map(({ jobId, credential }) => postStatus(harness, jobId, credential, statusOf("Applying"))),
      postStatus(harness, firstJob.jobId, firstJob.credential, statusOf("Waiting")),
      postStatus(harness, firstJob.jobId, firstJob.credential, statusOf("Ready")),
      postStatus(harness, "j-00000000000000000000000000", firstJob.credential, statusOf("Lost")),
    ]);
    expect(statuses.map((response) => response.statusCode)).toEqual([...all.map(() => 204), 204, 204, 404]);
    const stored = await harness.deps.db.jobStatusUpdate.findMany({
      where: { jobId: { in: all.map(({ jobId }) => jobId) } },
    });
    expect(stored).toHaveLength(all.length + 2);
    expect(
      stored
        .filter((row) => row.jobId === firstJob.jobId)
        .map((row) => row.phase)
        .sort(),
    ).toEqual(["Applying", "Ready", "Waiting"]);

    const succeeded = { outcome: "succeeded", timestamp: new Date().toISOString() };
    const [poisoned, ...rest] = all;
    if (!poisoned) throw new Error("fixture");
    const results = await Promise.all([
      // A value PostgreSQL refuses (NUL in jsonb) fails alone.
      postResult(harness, poisoned.jobId, poisoned.credential, {
        outcome: "failed",
        error: "bad\u0000byte",
        timestamp: succeeded.timestamp,
      }),
      ...rest.map(({ jobId, credential }) => postResult(harness, jobId, credential, succeeded)),
      // The same result twice at once: one wins, the other is a 409.
      ...rest.slice(0, 3).map(({ jobId, credential }) =>
        postResult(harness, jobId, credential, {
          outcome: "failed",
          error: "late",
          timestamp: succeeded.timestamp,
        }),
      ),
    ]);
    const codes = results.map((response) => response.statusCode);
    expect(codes[0]).toBe(400);
    expect(results[0]?.json()).toMatchObject({
      error: "invalid_request",
      message: expect.stringContaining("cannot be stored"),
      requestId: expect.any(String),
    });
    const forRest = codes.slice(1, 1 + rest.length);
    const duplicates = codes.slice(1 + rest.length);
    expect(
      forRest.filter((code) => code === 204).length + duplicates.filter((code) => code === 204).length,
    ).toBe(rest.length);
    // Of each duplicated pair exactly one got 204.
    rest.slice(0, 3).forEach((_, index) => {
      expect([forRest[index], duplicates[index]].sort()).toEqual([204, 409]);
    });

    const rows = await harness.deps.db.job.findMany({ where: { id: { in: all.map(({ jobId }) => jobId) } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(poisoned.jobId)?.state).toBe("acked");
    for (const { jobId } of rest) expect(["succeeded", "failed"]).toContain(byId.get(jobId)?.state);
    expect(
      await auditCount(
        "JobFinished",
        rest.map(({ jobId }) => jobId),
      ),
    ).toBe(rest.length);
    expect(await auditCount("JobFinished", [poisoned.jobId])).toBe(0);

    // The poisoned job still takes a proper result afterwards.
    expect((await postResult(harness, poisoned.jobId, poisoned.credential, succeeded)).statusCode).toBe(204);
  });
});

describe("first requests of many agents at once (nothing cached)", () => {
  it("authenticates each with its own credential: known, revoked and unknown side by side", async () => {
    const clusters = await Promise.all(Array.from({ length: 8 }, () => registeredCluster(harness, key)));
    const [revoked, ...live] = clusters;
    if (!revoked) throw new Error("fixture");
    const revocation = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${revoked.cluster.id}/credentials/revoke`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(revocation.statusCode, revocation.body).toBeLessThan(300);
    harness.deps.credentials.invalidateAll();

    const unknown = `vwksp-agt-${"0".repeat(64)}`;
    const answers = await Promise.all([
      ...live.map(({ cluster, credential }) => poll(harness, cluster.id, credential).then(() => 200)),
      harness.app
        .inject({
          method: "GET",
          url: `/api/agent/jobs?cluster=${revoked.cluster.id}&wait=0`,
          headers: { authorization: `Bearer ${revoked.credential}`, accept: "application/json" },
        })
        .then((response) => response.statusCode),
      harness.app
        .inject({
          method: "GET",
          url: `/api/agent/jobs?cluster=${revoked.cluster.id}&wait=0`,
          headers: { authorization: `Bearer ${unknown}`, accept: "application/json" },
        })
        .then((response) => response.statusCode),
      // A live credential used for another cluster: known, but not that cluster's.
      harness.app
        .inject({
          method: "GET",
          url: `/api/agent/jobs?cluster=${revoked.cluster.id}&wait=0`,
          headers: { authorization: `Bearer ${live[0]?.credential}`, accept: "application/json" },
        })
        .then((response) => response.statusCode),
    ]);
    expect(answers).toEqual([...live.map(() => 200), 401, 401, 403]);
  });
});
