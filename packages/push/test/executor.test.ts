import type { KubeFake } from "@vwksp/kube-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterClient, createClusterClient } from "../src/client/cluster-client.ts";
import { createPushExecutor, type PushExecutor } from "../src/execute/executor.ts";
import { provisionPushCredential, startCluster } from "./support/cluster.ts";
import {
  APPS,
  applicationInstance,
  CLUSTER_ID,
  deleteInstanceJob,
  ensureJob,
  instanceRef,
  OPS,
  operation,
  requestOperationJob,
} from "./support/jobs.ts";

let kube: KubeFake;
let client: ClusterClient;
let executor: PushExecutor;
const NOW = new Date("2026-12-02T10:00:00Z");

beforeAll(async () => {
  kube = await startCluster();
  const { kubeconfig } = await provisionPushCredential(kube);
  client = createClusterClient(kubeconfig, { requestTimeoutMs: 3_000 });
  executor = createPushExecutor({ client, clusterId: CLUSTER_ID, clock: { now: () => NOW } });
});
afterAll(async () => {
  client?.close();
  await kube?.close();
});

const stored = (namespace: string, name: string, apiVersion = APPS, kind = "ApplicationInstance") =>
  kube.get({ apiVersion, kind, namespace, name });

describe("ensure-application-instance", () => {
  it("server-side applies as vworkspace-control-plane, without force, with the operator's labels", async () => {
    const result = await executor.execute(ensureJob(applicationInstance("org-a", "vault")));
    const live = stored("org-a", "vault");
    expect(result).toEqual({
      outcome: "succeeded",
      appliedRef: { ...instanceRef("org-a", "vault"), uid: live?.metadata.uid, generation: 1 },
      timestamp: NOW.toISOString(),
    });
    expect(live?.metadata.labels).toEqual({
      "app.vworkspace.io/managed-by": "control-plane",
      "app.vworkspace.io/cluster-id": CLUSTER_ID,
    });
    expect(live?.metadata.managedFields?.map(({ manager, operation }) => ({ manager, operation }))).toEqual([
      { manager: "vworkspace-control-plane", operation: "Apply" },
    ]);
    const patch = kube.requests.findLast((request) => request.method === "PATCH");
    expect(patch?.contentType).toBe("application/apply-patch+yaml");
    expect(patch?.query.get("fieldManager")).toBe("vworkspace-control-plane");
    expect(patch?.query.get("force")).toBeNull();
  });

  it("keeps the generation when nothing changed and bumps it when the spec did", async () => {
    const before = stored("org-a", "vault");
    const again = await executor.execute(ensureJob(applicationInstance("org-a", "vault")));
    expect(again).toMatchObject({ outcome: "succeeded", appliedRef: { generation: 1 } });
    expect(stored("org-a", "vault")?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    const upgraded = await executor.execute(ensureJob(applicationInstance("org-a", "vault", "1.3.0")));
    expect(upgraded).toMatchObject({ outcome: "succeeded", appliedRef: { generation: 2 } });
  });

  it("answers conflict naming the manager that owns a field, and changes nothing", async () => {
    const edited = applicationInstance("org-a", "vault", "9.9.9");
    kube.put(edited, "kubectl-edit");
    const generation = stored("org-a", "vault")?.metadata.generation;
    const result = await executor.execute(ensureJob(applicationInstance("org-a", "vault", "1.4.0")));
    expect(result).toEqual({
      outcome: "conflict",
      error: `Apply failed with 1 conflict: conflict with "kubectl-edit" using ${APPS}: .spec.chart.version`,
      timestamp: NOW.toISOString(),
    });
    expect(stored("org-a", "vault")?.metadata.generation).toBe(generation);
    expect(stored("org-a", "vault")).toMatchObject({ spec: { chart: { version: "9.9.9" } } });
  });

  it("fails with the API server's message outside the allowed namespaces and for the wrong kind", async () => {
    const outside = await executor.execute(ensureJob(applicationInstance("org-c", "vault")));
    expect(outside).toEqual({
      outcome: "failed",
      error:
        'applicationinstances.apps.vworkspace.io "vault" is forbidden: User "system:serviceaccount:vworkspace-system:vworkspace-control-plane" cannot patch resource "applicationinstances" in API group "apps.vworkspace.io" in the namespace "org-c"',
      timestamp: NOW.toISOString(),
    });
    const wrongKind = await executor.execute({
      kind: "intent",
      payload: { intent: "ensure-application-instance", applicationInstance: operation("org-a", "backup") },
    });
    expect(wrongKind).toMatchObject({
      outcome: "failed",
      error: `ensure-application-instance needs a ApplicationInstance (${APPS}), got Operation (${OPS})`,
    });
    const noNamespace = await executor.execute({
      kind: "intent",
      payload: {
        intent: "ensure-application-instance",
        applicationInstance: { ...applicationInstance("", "x") },
      },
    });
    expect(noNamespace).toMatchObject({
      outcome: "failed",
      error: expect.stringContaining("metadata.namespace"),
    });
  });
});

describe("delete-application-instance", () => {
  it("deletes, naming the uid and generation it deleted; an instance already gone succeeds without a uid", async () => {
    await executor.execute(ensureJob(applicationInstance("org-b", "wiki")));
    const live = stored("org-b", "wiki");
    const deleted = await executor.execute(deleteInstanceJob("org-b", "wiki"));
    expect(deleted).toEqual({
      outcome: "succeeded",
      appliedRef: { ...instanceRef("org-b", "wiki"), uid: live?.metadata.uid, generation: 1 },
      timestamp: NOW.toISOString(),
    });
    expect(stored("org-b", "wiki")).toBeUndefined();
    // The operator's applier: not found on the first read is success, with a ref without a uid.
    await expect(executor.execute(deleteInstanceJob("org-b", "wiki"))).resolves.toEqual({
      outcome: "succeeded",
      appliedRef: instanceRef("org-b", "wiki"),
      timestamp: NOW.toISOString(),
    });
  });

  it("requests the deletion of an instance held by the operator's finalizer", async () => {
    await executor.execute(ensureJob(applicationInstance("org-b", "chat")));
    kube.put(
      {
        ...applicationInstance("org-b", "chat"),
        metadata: { name: "chat", namespace: "org-b", finalizers: ["apps.vworkspace.io/finalizer"] },
      },
      "vworkspace-operator",
    );
    await expect(executor.execute(deleteInstanceJob("org-b", "chat"))).resolves.toMatchObject({
      outcome: "succeeded",
    });
    expect(stored("org-b", "chat")?.metadata.deletionTimestamp).toBeDefined();
  });
});

describe("request-operation", () => {
  it("creates the Operation; the same request again is noop, another spec under that name a conflict", async () => {
    const created = await executor.execute(requestOperationJob(operation("org-a", "backup-1")));
    const live = stored("org-a", "backup-1", OPS, "Operation");
    expect(created).toEqual({
      outcome: "succeeded",
      appliedRef: {
        apiVersion: OPS,
        kind: "Operation",
        namespace: "org-a",
        name: "backup-1",
        uid: live?.metadata.uid,
        generation: 1,
      },
      timestamp: NOW.toISOString(),
    });
    expect(live?.metadata.labels?.["app.vworkspace.io/cluster-id"]).toBe(CLUSTER_ID);
    expect(
      kube.requests
        .findLast((request) => request.method === "POST" && request.path.endsWith("/operations"))
        ?.query.get("fieldManager"),
    ).toBe("vworkspace-control-plane");

    const replay = await executor.execute(requestOperationJob(operation("org-a", "backup-1")));
    expect(replay).toMatchObject({ outcome: "noop", appliedRef: { uid: live?.metadata.uid, generation: 1 } });
    const other = await executor.execute(requestOperationJob(operation("org-a", "backup-1", "Upgrade")));
    expect(other).toMatchObject({
      outcome: "conflict",
      error:
        'Operation org-a/backup-1 already exists with a different spec (written by "vworkspace-control-plane")',
    });
    expect(stored("org-a", "backup-1", OPS, "Operation")).toMatchObject({ spec: { type: "Backup" } });
  });
});

describe("raw apply and delete", () => {
  it("applies any served kind it may write and deletes by apiVersion, kind, name and namespace", async () => {
    const applied = await executor.execute({
      kind: "apply",
      payload: operation("org-b", "restore-1", "Restore"),
    });
    expect(applied).toMatchObject({
      outcome: "succeeded",
      appliedRef: { kind: "Operation", name: "restore-1", generation: 1 },
    });
    expect(
      stored("org-b", "restore-1", OPS, "Operation")?.metadata.labels?.["app.vworkspace.io/managed-by"],
    ).toBe("control-plane");

    const ref = { apiVersion: OPS, kind: "Operation", name: "restore-1", namespace: "org-b" };
    await expect(executor.execute({ kind: "delete", payload: ref })).resolves.toEqual({
      outcome: "succeeded",
      appliedRef: ref,
      timestamp: NOW.toISOString(),
    });
    expect(stored("org-b", "restore-1", OPS, "Operation")).toBeUndefined();
    await expect(executor.execute({ kind: "delete", payload: ref })).resolves.toMatchObject({
      outcome: "succeeded",
    });
  });

  it("fails for a kind the API server does not serve, and with the 403 for one it may not write", async () => {
    const unknown = await executor.execute({
      kind: "apply",
      payload: { apiVersion: "example.io/v1", kind: "Widget", metadata: { name: "w", namespace: "org-a" } },
    });
    expect(unknown).toMatchObject({
      outcome: "failed",
      error: "the API server does not serve Widget in example.io/v1",
    });
    const configMap = await executor.execute({
      kind: "apply",
      payload: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "org-a" },
        data: { a: "1" },
      },
    });
    expect(configMap).toMatchObject({
      outcome: "failed",
      error: expect.stringMatching(
        /^configmaps "settings" is forbidden: User ".*" cannot patch resource "configmaps" in API group "" in the namespace "org-a"$/,
      ),
    });
    const malformed = await executor.execute({ kind: "delete", payload: { kind: "Operation", name: "x" } });
    expect(malformed).toMatchObject({ outcome: "failed", error: expect.stringContaining("delete payload") });
  });

  it("answers an expired job noop without touching the cluster", async () => {
    const before = kube.requests.length;
    const result = await executor.execute({
      ...ensureJob(applicationInstance("org-a", "late")),
      expiresAt: "2026-12-02T09:59:59Z",
    });
    expect(result).toEqual({ outcome: "noop", error: "expired", timestamp: NOW.toISOString() });
    expect(kube.requests.length).toBe(before);
  });
});
