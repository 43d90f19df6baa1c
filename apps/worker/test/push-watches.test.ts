import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeFake, KubeObject } from "../../../packages/kube-fake/src/index.ts";
import {
  clusterResource,
  NAMESPACES,
  provisionPushCredential,
  startCluster,
} from "../../../packages/push/test/support/cluster.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster, eventually } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// Push mode's status path: the worker holding a push cluster's lease watches its
// ApplicationInstances and Cluster CR over HTTPS and feeds the events service as an agent would.

const SECRET_KEY = "c".repeat(64);
const APPS = "apps.vworkspace.io/v1alpha1";
const CONFIG = { SECRET_KEY, PUSH_WATCH_LEASE_SECONDS: "3" };
const WATCH_OPTIONS = { backoff: { initialMs: 50, maxMs: 400 } };

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let workerA: ReturnType<typeof createTestWorker>;
let workerB: ReturnType<typeof createTestWorker>;
let kube: KubeFake;
let key: string;
let credential: Awaited<ReturnType<typeof provisionPushCredential>>;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: CONFIG });
  workerA = createTestWorker({ env, configOverrides: CONFIG, pushWatchOptions: WATCH_OPTIONS });
  workerB = createTestWorker({ env, configOverrides: CONFIG, pushWatchOptions: WATCH_OPTIONS });
  key = await adminKey(harness);
  kube = await startCluster();
  credential = await provisionPushCredential(kube);
});

afterAll(async () => {
  // Workers first: kube-fake's close waits for a TLS handshake in progress, and watches
  // reconnecting with short backoffs to a closing server could start one at any moment.
  await workerA?.close();
  await workerB?.close();
  await kube?.close();
  await harness?.close();
  await env?.close();
});

async function pushCluster(name: string) {
  const cluster = await createCluster(harness, key, {
    connectivityMode: "push",
    allowedNamespaces: NAMESPACES,
  });
  const put = await harness.app.inject({
    method: "PUT",
    url: `/api/v1/clusters/${cluster.id}/kubeconfig`,
    headers: adminHeaders(key),
    payload: credential.kubeconfig as unknown as Record<string, unknown>,
  });
  expect(put.json().validation.state, put.body).toBe("Connected");
  kube.apply(clusterResource(name, cluster.id) as KubeObject, "vworkspace-operator");
  return cluster.id;
}

const application = (clusterId: string, name: string) =>
  harness.deps.db.application.findFirst({ where: { clusterId, namespace: "org-a", name } });

describe("push watches", () => {
  let clusterId: string;

  it("deploy → apply → Ready via the watch → the application is deployed", async () => {
    clusterId = await pushCluster("push-one");
    workerA.deps.startPushWatches();
    await eventually(async () => workerA.deps.pushWatches?.owned().includes(clusterId));
    const deployed = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${clusterId}/applications`,
      headers: adminHeaders(key),
      payload: { catalogId: "vaultwarden", namespace: "org-a", name: "vault" },
    });
    expect(deployed.statusCode, deployed.body).toBe(202);
    const { jobId } = deployed.json() as { jobId: string };
    await eventually(
      async () =>
        (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state === "succeeded",
      15_000,
    );
    // The operator reconciles the ApplicationInstance and reports Ready.
    kube.setCondition(
      { apiVersion: APPS, kind: "ApplicationInstance", namespace: "org-a", name: "vault" },
      { type: "Ready", status: "True", reason: "Reconciled", message: "release deployed" },
    );
    await eventually(async () => (await application(clusterId, "vault"))?.state === "deployed", 15_000);
    const stored = await harness.deps.db.agentEvent.findMany({ where: { clusterId } });
    expect(stored.some((event) => event.eventKey?.includes("/ApplicationInstance/org-a/vault/"))).toBe(true);
    const audit = await harness.deps.db.auditEntry.findMany({ where: { clusterId, source: "agent" } });
    expect(audit.length).toBeGreaterThan(0);
  });

  it("the Cluster CR's heartbeat and conditions drive the cluster's health", async () => {
    const before = (await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } }))
      .lastHeartbeatAt;
    kube.heartbeat("push-one");
    await eventually(async () => {
      const row = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
      return row.lastHeartbeatAt && row.lastHeartbeatAt !== before && row.clusterResource ? row : undefined;
    }, 15_000);
    const row = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } });
    expect(row.status).toBe("connected");
    expect(JSON.stringify(row.clusterResource)).toContain("push-one");
  });

  it("one worker per cluster; a worker that dies without letting go loses its clusters to another within the lease", async () => {
    workerB.deps.startPushWatches();
    const second = await pushCluster("push-two");
    await eventually(async () => {
      const a = workerA.deps.pushWatches?.owned() ?? [];
      const b = workerB.deps.pushWatches?.owned() ?? [];
      return [clusterId, second].every((id) => a.includes(id) !== b.includes(id));
    }, 20_000);
    const a = workerA.deps.pushWatches?.owned() ?? [];
    const b = workerB.deps.pushWatches?.owned() ?? [];
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    // Worker A "crashes": its rounds stop and its watches go silent, its leases stay in Redis.
    const crashedAt = Date.now();
    await workerA.deps.pushWatches?.abandon();
    await eventually(
      async () => [clusterId, second].every((id) => workerB.deps.pushWatches?.owned().includes(id)),
      30_000,
    );
    expect(Date.now() - crashedAt).toBeLessThan(30_000);
    // The survivor sees what happens on the taken-over cluster.
    kube.setCondition(
      { apiVersion: APPS, kind: "ApplicationInstance", namespace: "org-a", name: "vault" },
      { type: "Ready", status: "False", reason: "Upgrading", message: "chart upgrade" },
    );
    await eventually(async () => {
      const events = await harness.deps.db.agentEvent.findMany({ where: { clusterId } });
      return events.some((event) => event.eventKey?.includes("/Ready/False@"));
    }, 15_000);
  });
});
