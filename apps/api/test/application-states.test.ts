import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  ack,
  adminKey,
  eventually,
  poll,
  postEvents,
  postResult,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { applicationInstance, goCondition, goTransition } from "../../../test/support/operator-events.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// Application state settles from what the operator really reports: its job results (with the
// appliedRef of its server-side apply) and its condition transitions, which come only on change.

let env: TestEnv;
const clock = manualClock(new Date("2026-12-01T10:00:00Z"));
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock });
  worker = createTestWorker({ env, clock });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

type Cluster = Awaited<ReturnType<typeof registeredCluster>>;
const NAMESPACE = "org-demo";

const adminCall = async (method: "GET" | "POST" | "DELETE" | "PATCH", url: string, payload?: unknown) => {
  const response = await harness.app.inject({
    method,
    url,
    headers: adminHeaders(key),
    ...(payload ? { payload: payload as Record<string, unknown> } : {}),
  });
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json();
};

const jobState = async (id: string) => (await harness.deps.db.job.findUniqueOrThrow({ where: { id } })).state;

/** Asks for the application and hands its job to the agent (poll + ack), as the operator takes it. */
async function request(
  { cluster, credential }: Cluster,
  name: string,
  action: "deploy" | "delete" = "deploy",
) {
  const accepted =
    action === "deploy"
      ? await adminCall("POST", `/api/v1/clusters/${cluster.id}/applications`, {
          catalogId: "vaultwarden",
          namespace: NAMESPACE,
          name,
        })
      : await adminCall("DELETE", `/api/v1/clusters/${cluster.id}/applications/${NAMESPACE}/${name}`);
  const jobId = accepted.jobId as string;
  await eventually(async () => (await jobState(jobId)) === "ready");
  expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);
  expect((await ack(harness, jobId, credential)).statusCode).toBe(204);
  return jobId;
}

/** The operator's JobResult after a server-side apply: appliedRef = the object as stored (uid, generation). */
const applied = (name: string, uid: string, generation: number) => ({
  outcome: "succeeded",
  appliedRef: applicationInstance(name, uid, generation, NAMESPACE),
  timestamp: "2026-12-01T10:00:01.123456789Z",
});

/** The operator's JobResult when ApplyJob failed (IsConflict decides the outcome). */
const refusal = (outcome: "failed" | "conflict", error: string) => ({
  outcome,
  error,
  timestamp: "2026-12-01T10:00:02Z",
});

async function result({ credential }: Cluster, jobId: string, body: unknown) {
  const response = await postResult(harness, jobId, credential, body);
  expect(response.statusCode, response.body).toBe(204);
}

let second = 0;
/** One ApplicationInstance transition as the operator's reporter sends it. */
async function transition(
  { credential }: Cluster,
  name: string,
  uid: string,
  generation: number,
  type: string,
  status: "True" | "False",
  reason: string,
) {
  second += 1;
  const at = new Date(Date.parse("2026-12-01T10:00:00Z") + second * 1000).toISOString();
  const instance = applicationInstance(name, uid, generation, NAMESPACE);
  const response = await postEvents(harness, credential, [
    goTransition(instance, goCondition(type, status, reason, "", at), at),
  ]);
  expect(response.statusCode, response.body).toBe(204);
}

async function application({ cluster }: Cluster, name: string, includeDeleted = false) {
  const list = await adminCall(
    "GET",
    `/api/v1/clusters/${cluster.id}/applications${includeDeleted ? "?includeDeleted=true" : ""}`,
  );
  return list.items.find((item: { name: string }) => item.name === name);
}

describe("application states from what the operator reports", () => {
  it("requested → deploying on the succeeded job → deployed on Ready=True; then degraded, not_ready, deployed", async () => {
    const target = await registeredCluster(harness, key);
    const jobId = await request(target, "vault");
    expect(await application(target, "vault")).toMatchObject({ state: "requested", lastJobId: jobId });

    await result(target, jobId, applied("vault", "uid-vault", 1));
    expect(await application(target, "vault")).toMatchObject({ state: "deploying", stateReason: null });
    await transition(target, "vault", "uid-vault", 1, "Ready", "False", "HelmReleaseInstalling");
    expect(await application(target, "vault")).toMatchObject({
      state: "deploying",
      stateReason: expect.stringContaining("HelmReleaseInstalling"),
    });
    await transition(target, "vault", "uid-vault", 1, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "vault")).toMatchObject({
      state: "deployed",
      deployedAt: expect.any(String),
    });

    await transition(target, "vault", "uid-vault", 1, "Degraded", "True", "PodCrashLooping");
    expect(await application(target, "vault")).toMatchObject({
      state: "degraded",
      stateReason: expect.stringContaining("PodCrashLooping"),
    });
    await transition(target, "vault", "uid-vault", 1, "Degraded", "False", "Recovered");
    expect(await application(target, "vault")).toMatchObject({ state: "deployed" });
    await transition(target, "vault", "uid-vault", 1, "Ready", "False", "HelmReleaseFailed");
    expect(await application(target, "vault")).toMatchObject({ state: "not_ready" });
    await transition(target, "vault", "uid-vault", 1, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "vault")).toMatchObject({ state: "deployed" });

    const trail = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: target.cluster.id, kind: "ApplicationStateChanged" },
      orderBy: { id: "asc" },
    });
    expect(trail.map((entry) => (entry.data as { to: string }).to)).toEqual([
      "deploying",
      "deployed",
      "degraded",
      "deployed",
      "not_ready",
      "deployed",
    ]);
  });

  it("settles an unchanged redeploy on its job: same generation, Ready=True at it already known", async () => {
    const target = await registeredCluster(harness, key);
    const first = await request(target, "same");
    await result(target, first, applied("same", "uid-same", 1));
    await transition(target, "same", "uid-same", 1, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "same")).toMatchObject({ state: "deployed", generation: 1 });

    // The spec did not change: Kubernetes keeps generation 1 and the reporter sends nothing.
    const again = await request(target, "same");
    expect(await application(target, "same")).toMatchObject({ state: "requested", generation: 2 });
    await result(target, again, applied("same", "uid-same", 1));
    expect(await application(target, "same")).toMatchObject({ state: "deployed", lastJobId: again });

    // A changed spec moves the generation: deploying until Ready=True of generation 2 arrives.
    const changed = await request(target, "same");
    await result(target, changed, applied("same", "uid-same", 2));
    expect(await application(target, "same")).toMatchObject({ state: "deploying" });
    await transition(target, "same", "uid-same", 2, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "same")).toMatchObject({ state: "deployed" });
  });

  it("waits for the job when Ready=True arrives first, then settles on it", async () => {
    const target = await registeredCluster(harness, key);
    const jobId = await request(target, "early");
    await transition(target, "early", "uid-early", 1, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "early")).toMatchObject({ state: "requested" });
    await result(target, jobId, applied("early", "uid-early", 1));
    expect(await application(target, "early")).toMatchObject({ state: "deployed" });
  });

  it("settles a replayed job (noop, the first result lost) from the object as last reported", async () => {
    const target = await registeredCluster(harness, key);
    const jobId = await request(target, "replayed");
    await transition(target, "replayed", "uid-replayed", 1, "Ready", "True", "HelmReleaseReady");
    await result(target, jobId, { outcome: "noop", timestamp: "2026-12-01T10:00:02Z" });
    expect(await application(target, "replayed")).toMatchObject({ state: "deployed" });
  });

  it("deleting → deleted on the succeeded delete; hidden, kept, and deployable again under its name", async () => {
    const target = await registeredCluster(harness, key);
    const deploy = await request(target, "gone");
    await result(target, deploy, applied("gone", "uid-gone-1", 1));
    await transition(target, "gone", "uid-gone-1", 1, "Ready", "True", "HelmReleaseReady");

    const removal = await request(target, "gone", "delete");
    expect(await application(target, "gone")).toMatchObject({ state: "deleting" });
    // The operator reports nothing but the result (appliedRef of the object it deleted).
    await result(target, removal, applied("gone", "uid-gone-1", 1));
    expect(await application(target, "gone")).toBeUndefined();
    expect(await application(target, "gone", true)).toMatchObject({
      state: "deleted",
      deletedAt: expect.any(String),
      lastJobId: removal,
    });

    const back = await request(target, "gone");
    expect(await application(target, "gone")).toMatchObject({
      state: "requested",
      deletedAt: null,
      generation: 3,
    });
    await result(target, back, applied("gone", "uid-gone-2", 1));
    // The old object's Ready=True is not the new one's.
    expect(await application(target, "gone")).toMatchObject({ state: "deploying" });
    await transition(target, "gone", "uid-gone-2", 1, "Ready", "True", "HelmReleaseReady");
    expect(await application(target, "gone")).toMatchObject({ state: "deployed" });
    const resources = await adminCall("GET", `/api/v1/clusters/${target.cluster.id}/resources`);
    expect(resources.items).toEqual([
      expect.objectContaining({ name: "gone", uid: "uid-gone-2", generation: 1 }),
    ]);
  });

  it("requested → failed on failed, conflict, and the agent's own expiry (noop with error)", async () => {
    const target = await registeredCluster(harness, key);
    const failed = await request(target, "broken");
    await result(target, failed, refusal("failed", "server-side apply: admission webhook denied"));
    expect(await application(target, "broken")).toMatchObject({
      state: "failed",
      stateReason: `job ${failed} failed: server-side apply: admission webhook denied`,
    });

    const conflicted = await request(target, "contested");
    await result(target, conflicted, refusal("conflict", "apply conflict: Apply failed with 1 conflict"));
    expect(await application(target, "contested")).toMatchObject({
      state: "failed",
      stateReason: expect.stringContaining("conflict: apply conflict"),
    });

    const late = await request(target, "late");
    await result(target, late, { outcome: "noop", error: "expired", timestamp: "2026-12-01T10:00:02Z" });
    expect(await application(target, "late")).toMatchObject({
      state: "failed",
      stateReason: `job ${late} noop: expired`,
    });
  });

  it("deleting → failed when the delete fails; a later delete can still succeed", async () => {
    const target = await registeredCluster(harness, key);
    const deploy = await request(target, "stuck");
    await result(target, deploy, applied("stuck", "uid-stuck", 1));
    const removal = await request(target, "stuck", "delete");
    await result(target, removal, refusal("failed", "delete application instance: forbidden"));
    expect(await application(target, "stuck")).toMatchObject({
      state: "failed",
      stateReason: expect.stringContaining("forbidden"),
    });
    const retry = await request(target, "stuck", "delete");
    await result(target, retry, {
      outcome: "succeeded",
      appliedRef: {
        apiVersion: "apps.vworkspace.io/v1alpha1",
        kind: "ApplicationInstance",
        namespace: NAMESPACE,
        name: "stuck",
      },
      timestamp: "2026-12-01T10:00:03Z",
    });
    expect(await application(target, "stuck", true)).toMatchObject({ state: "deleted" });
  });

  it("requested → failed with the reason when the job expires undelivered, is undeliverable, or is cancelled", async () => {
    const target = await registeredCluster(harness, key);
    const settle = () => worker.processors.maintenance?.["settle-applications"]?.({}, undefined as never);

    const expiring = await adminCall("POST", `/api/v1/clusters/${target.cluster.id}/applications`, {
      catalogId: "vaultwarden",
      namespace: NAMESPACE,
      name: "expiring",
      expiresInSeconds: 30,
    });
    await eventually(async () => (await jobState(expiring.jobId)) === "ready");
    clock.advance(31_000);
    expect(await poll(harness, target.cluster.id, target.credential)).toEqual([]);
    expect(await jobState(expiring.jobId)).toBe("expired");
    await settle();
    expect(await application(target, "expiring")).toMatchObject({
      state: "failed",
      stateReason: `job ${expiring.jobId} expired: expired before it was delivered`,
    });

    // Delivered, never acked: each lease runs out and the job goes out again, five times.
    const never = (
      await adminCall("POST", `/api/v1/clusters/${target.cluster.id}/applications`, {
        catalogId: "vaultwarden",
        namespace: NAMESPACE,
        name: "never-acked",
      })
    ).jobId as string;
    await eventually(async () => (await jobState(never)) === "ready");
    for (let delivery = 1; delivery <= 5; delivery += 1) {
      if (delivery > 1) clock.advance(61_000);
      expect((await poll(harness, target.cluster.id, target.credential)).map((job) => job.id)).toEqual([
        never,
      ]);
    }
    clock.advance(61_000);
    expect(await poll(harness, target.cluster.id, target.credential)).toEqual([]);
    expect(await jobState(never)).toBe("undeliverable");
    await settle();
    expect(await application(target, "never-acked")).toMatchObject({
      state: "failed",
      stateReason: expect.stringMatching(/undeliverable: not completed after 5 deliveries/),
    });

    const cancelled = await adminCall("POST", `/api/v1/clusters/${target.cluster.id}/applications`, {
      catalogId: "vaultwarden",
      namespace: NAMESPACE,
      name: "withdrawn",
    });
    await adminCall("POST", `/api/v1/jobs/${cancelled.jobId}/cancel`);
    expect(await application(target, "withdrawn")).toMatchObject({
      state: "failed",
      stateReason: `job ${cancelled.jobId} cancelled: cancelled by an admin`,
    });
  });

  it("requested → failed when the worker rejects the request (the allow-list changed meanwhile)", async () => {
    const target = await registeredCluster(harness, key);
    await worker.close();
    try {
      const accepted = await adminCall("POST", `/api/v1/clusters/${target.cluster.id}/applications`, {
        catalogId: "vaultwarden",
        namespace: NAMESPACE,
        name: "refused",
      });
      await adminCall("PATCH", `/api/v1/clusters/${target.cluster.id}`, { allowedCatalogEntries: ["gitea"] });
      worker = createTestWorker({ env, clock });
      clock.advance(11_000);
      await worker.processors.maintenance?.["reconcile-queued"]?.({}, undefined as never);
      await eventually(async () => (await jobState(accepted.jobId)) === "failed");
      expect(
        await eventually(async () => {
          const app = await application(target, "refused");
          return app.state === "failed" ? app : undefined;
        }),
      ).toMatchObject({
        stateReason: expect.stringContaining("catalog entry vaultwarden is no longer allowed"),
      });
      // Closed without a result: its job.finished says so.
      const finished = await harness.deps.db.outboxEvent.findMany({
        where: { kind: "JobFinished", data: { path: ["jobId"], equals: accepted.jobId } },
      });
      expect(finished.map((event) => event.data)).toEqual([
        {
          jobId: accepted.jobId,
          outcome: "failed",
          intent: "ensure-application-instance",
          error: expect.stringContaining("catalog entry vaultwarden is no longer allowed"),
        },
      ]);
    } finally {
      await worker.close();
      worker = createTestWorker({ env, clock });
    }
  });

  it("settles through the maintenance backstop when the settling after a result never ran", async () => {
    const target = await registeredCluster(harness, key);
    const jobId = await request(target, "backstop");
    // The result recorded, the process gone before it settled the application.
    await harness.deps.delivery.result(target.cluster.id, jobId, applied("backstop", "uid-b", 1) as never);
    expect(await application(target, "backstop")).toMatchObject({ state: "requested" });
    expect(
      await worker.processors.maintenance?.["settle-applications"]?.({}, undefined as never),
    ).toMatchObject({
      settled: 1,
    });
    expect(await application(target, "backstop")).toMatchObject({ state: "deploying" });
  });
});
