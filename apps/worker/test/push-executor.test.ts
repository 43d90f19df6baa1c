import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeFake, KubeObject } from "../../../packages/kube-fake/src/index.ts";
import {
  NAMESPACES,
  provisionPushCredential,
  startCluster,
} from "../../../packages/push/test/support/cluster.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  createCluster,
  eventually,
  poll,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// Push mode's executor in the real worker (no executors override: with SECRET_KEY the worker
// has the push executor), against the Kubernetes API stand-in over HTTPS.

const SECRET_KEY = "b".repeat(64);
const APPS = "apps.vworkspace.io/v1alpha1";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let kube: KubeFake;
let credential: Awaited<ReturnType<typeof provisionPushCredential>>;
let key: string;
let clusterId: string;
const workerLogs = createLogCapture();

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: { SECRET_KEY } });
  worker = createTestWorker({ env, configOverrides: { SECRET_KEY }, captureLogs: workerLogs });
  key = await adminKey(harness);
  kube = await startCluster();
  credential = await provisionPushCredential(kube);
  const cluster = await createCluster(harness, key, {
    connectivityMode: "push",
    allowedNamespaces: NAMESPACES,
  });
  clusterId = cluster.id;
  const put = await harness.app.inject({
    method: "PUT",
    url: `/api/v1/clusters/${clusterId}/kubeconfig`,
    headers: adminHeaders(key),
    payload: credential.kubeconfig as unknown as Record<string, unknown>,
  });
  expect(put.json().validation.state, put.body).toBe("Connected");
});

afterAll(async () => {
  await kube?.close();
  await worker?.close();
  await harness?.close();
  await env?.close();
});

async function call(method: "POST" | "DELETE", url: string, payload?: Record<string, unknown>) {
  const response = await harness.app.inject({
    method,
    url,
    headers: adminHeaders(key),
    ...(payload ? { payload } : {}),
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json() as { jobId: string };
}

const deploy = (name: string, extra: Record<string, unknown> = {}) =>
  call("POST", `/api/v1/clusters/${clusterId}/applications`, {
    catalogId: "vaultwarden",
    namespace: "org-a",
    name,
    ...extra,
  });

const job = (id: string) => harness.deps.db.job.findUniqueOrThrow({ where: { id } });
const settled = async (id: string, timeoutMs = 15_000) =>
  eventually(async () => {
    const row = await job(id);
    return ["succeeded", "noop", "failed", "conflict"].includes(row.state) ? row : undefined;
  }, timeoutMs);
const instance = (name: string) =>
  kube.get({ apiVersion: APPS, kind: "ApplicationInstance", namespace: "org-a", name }) as
    | KubeObject
    | undefined;
const sweep = () => worker.processors.maintenance?.["drain-executor-clusters"]?.({}, undefined as never);

describe("the push executor", () => {
  it("deploy: server-side applies the ApplicationInstance as vworkspace-control-plane, never to a poll", async () => {
    const { jobId } = await deploy("vault");
    const done = await settled(jobId);
    expect(done.state, done.error ?? "").toBe("succeeded");
    const stored = instance("vault");
    expect(stored?.metadata.labels).toMatchObject({
      "app.vworkspace.io/managed-by": "control-plane",
      "app.vworkspace.io/cluster-id": clusterId,
    });
    const managers = ((stored?.metadata.managedFields ?? []) as { manager: string }[]).map(
      (entry) => entry.manager,
    );
    expect(managers).toContain("vworkspace-control-plane");
    const patches = kube.requests.filter(
      (request) => request.method === "PATCH" && request.path.endsWith("/vault"),
    );
    expect(patches.every((request) => request.query.get("force") === null)).toBe(true);
    // The same audit trail as an agent's delivery.
    const kinds = (await harness.deps.db.auditEntry.findMany({ where: { clusterId } })).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["JobDelivered", "JobAcked", "JobFinished"]));
  });

  it("a field another manager owns: outcome conflict naming the manager, nothing changed", async () => {
    const stored = instance("vault") as KubeObject;
    const edited = structuredClone(stored) as KubeObject & { spec: { chart: { version: string } } };
    edited.spec.chart.version = "9.9.9";
    for (const field of ["managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"])
      delete (edited.metadata as Record<string, unknown>)[field];
    kube.put(edited, "kubectl-edit");
    const { jobId } = await deploy("vault", { chartVersion: "2.0.0" });
    const done = await settled(jobId);
    expect(done.state).toBe("conflict");
    expect(done.error).toContain('conflict with "kubectl-edit"');
    expect(done.error).toContain(".spec.chart.version");
    expect(
      (instance("vault") as unknown as { spec: { chart: { version: string } } }).spec.chart.version,
    ).toBe("9.9.9");
  });

  it("delete: removes the ApplicationInstance", async () => {
    const { jobId } = await call("DELETE", `/api/v1/clusters/${clusterId}/applications/org-a/vault`);
    expect((await settled(jobId)).state).toBe("succeeded");
    expect(instance("vault")).toBeUndefined();
  });

  it("an API server outage: the job retries with backoff, the cluster turns disconnected, and both recover", async () => {
    await kube.stop();
    const { jobId } = await deploy("during-outage");
    await eventually(async () => {
      const row = await job(jobId);
      return row.state === "acked" && (row.error ?? "").startsWith("retrying: Unreachable") ? row : undefined;
    }, 15_000);
    await eventually(async () => {
      const credentialRow = await harness.deps.db.pushCredential.findUniqueOrThrow({ where: { clusterId } });
      return credentialRow.validationReason === "Unreachable";
    });
    expect((await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } })).status).toBe(
      "disconnected",
    );
    await kube.restart();
    const done = await eventually(async () => {
      await sweep();
      const row = await job(jobId);
      return row.state === "succeeded" ? row : undefined;
    }, 30_000);
    // The outage was the cluster's trouble: its attempts used up none of the job's deliveries.
    expect(done.deliveries).toBe(1);
    const delivered = await harness.deps.db.auditEntry.count({
      where: { kind: "JobDelivered", data: { path: ["jobId"], equals: jobId } },
    });
    expect(delivered).toBeGreaterThanOrEqual(2);
    expect(instance("during-outage")).toBeDefined();
    await worker.processors.maintenance?.["validate-push-clusters"]?.({}, undefined as never);
    expect((await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } })).status).toBe(
      "connected",
    );
  });

  it.each([
    [403, "Forbidden"],
    [422, "Invalid"],
  ])("a %i fails the job with the API server's message", async (code, reason) => {
    const name = `refused-${code}`;
    const message = `applicationinstances.apps.vworkspace.io "${name}" is ${reason.toLowerCase()}: test refusal ${code}`;
    const remove = kube.fail({
      method: "PATCH",
      path: new RegExp(`/${name}$`),
      respond: { code, reason, message },
    });
    try {
      const { jobId } = await deploy(name);
      const done = await settled(jobId);
      expect(done.state).toBe("failed");
      expect(done.error).toContain(`test refusal ${code}`);
      expect(done.deliveries).toBe(1);
    } finally {
      remove();
    }
  });

  it("pull → push → pull with open jobs: a polled job stays the agent's, the waiting ones go to the new channel", async () => {
    const { cluster, credential: agent } = await registeredCluster(harness, key, {
      allowedNamespaces: ["org-b"],
    });
    const deployB = (name: string) =>
      call("POST", `/api/v1/clusters/${cluster.id}/applications`, {
        catalogId: "vaultwarden",
        namespace: "org-b",
        name,
      });
    const state = async (id: string) => (await job(id)).state;
    const held = (await deployB("held-by-poll")).jobId;
    await eventually(async () => (await state(held)) === "ready");
    expect((await poll(harness, cluster.id, agent, 0)).map((delivered) => delivered.id)).toEqual([held]);
    const waiting = (await deployB("waiting-at-switch")).jobId;
    await eventually(async () => (await state(waiting)) === "ready");

    const patch = (connectivityMode: string) =>
      harness.app.inject({
        method: "PATCH",
        url: `/api/v1/clusters/${cluster.id}`,
        headers: adminHeaders(key),
        payload: { connectivityMode },
      });
    expect((await patch("push")).statusCode).toBe(200);
    const put = await harness.app.inject({
      method: "PUT",
      url: `/api/v1/clusters/${cluster.id}/kubeconfig`,
      headers: adminHeaders(key),
      payload: credential.kubeconfig as unknown as Record<string, unknown>,
    });
    expect(put.json().validation.state, put.body).toBe("Connected");
    // The polled job holds the line until the agent's result; the executor performs nothing meanwhile.
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await state(waiting)).toBe("ready");
    const result = await harness.app.inject({
      method: "POST",
      url: `/api/agent/jobs/${held}/result`,
      headers: { authorization: `Bearer ${agent}`, "content-type": "application/json" },
      payload: { outcome: "succeeded" },
    });
    expect(result.statusCode, result.body).toBe(204);
    await eventually(async () => {
      await sweep();
      return (await state(waiting)) === "succeeded";
    }, 15_000);
    const inB = (name: string) =>
      kube.get({ apiVersion: APPS, kind: "ApplicationInstance", namespace: "org-b", name });
    expect(inB("waiting-at-switch")).toBeDefined();
    expect(inB("held-by-poll")).toBeUndefined();

    // Back to pull: the next job goes to the agent's poll, not to the cluster's API.
    expect((await patch("pull")).statusCode).toBe(200);
    const back = (await deployB("after-switch-back")).jobId;
    await eventually(async () => (await state(back)) === "ready");
    await sweep();
    expect((await poll(harness, cluster.id, agent, 0)).map((delivered) => delivered.id)).toEqual([back]);
    expect(inB("after-switch-back")).toBeUndefined();
  });

  it("never writes the kubeconfig's token to the worker's log", () => {
    expect(workerLogs.lines.join("\n")).not.toContain(credential.token);
  });
});
