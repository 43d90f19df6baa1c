import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubernetesBackend } from "../src/backends/kubernetes.ts";
import { createSecretStore } from "../src/credentials/secret-store.ts";
import { ApplyConflictError } from "../src/errors.ts";
import { createKube, type Kube, loadKubeConfig } from "../src/kube/kube.ts";
import { executeJob } from "../src/runtime/execute.ts";
import { decideResult } from "../src/runtime/process-job.ts";
import { type FakeKube, startFakeKube } from "./support/fake-kube.ts";
import { agentJob, applicationInstance, CLUSTER_ID, configMap, decideContext } from "./support/jobs.ts";

let fake: FakeKube;
let dir: string;
let kube: Kube;

beforeAll(async () => {
  fake = await startFakeKube();
  dir = await mkdtemp(join(tmpdir(), "vwksp-kube-"));
  kube = createKube(loadKubeConfig(await fake.writeKubeconfig(dir)));
});

afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("kubernetes backend", () => {
  it("server-side applies as vworkspace-agent with forced ownership, creating the missing namespace", async () => {
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    const ref = await executeJob(agentJob("apply", configMap("org-a", "settings")), backend, CLUSTER_ID);
    expect(ref).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "org-a",
      name: "settings",
      uid: expect.stringMatching(UUID),
      generation: 1,
    });
    expect(ref.uid).toBe(fake.object("v1", "configmaps", "org-a", "settings")?.metadata.uid);

    const patch = fake.requests.find((request) => request.method === "PATCH");
    expect(patch).toMatchObject({
      path: "/api/v1/namespaces/org-a/configmaps/settings",
      contentType: "application/apply-patch+yaml",
      authorization: "Bearer fake-kube-token",
    });
    expect(patch?.query.get("fieldManager")).toBe("vworkspace-agent");
    expect(patch?.query.get("force")).toBe("true");
    expect(patch?.body).toMatchObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "settings",
        namespace: "org-a",
        labels: {
          "app.vworkspace.io/managed-by": "control-plane",
          "app.vworkspace.io/cluster-id": CLUSTER_ID,
        },
      },
      data: { a: "b" },
    });
    expect(fake.object("v1", "namespaces", undefined, "org-a")?.metadata.labels).toEqual({
      "app.vworkspace.io/managed-by": "control-plane",
      "app.vworkspace.io/cluster-id": CLUSTER_ID,
    });

    // Same namespace again: no second namespace lookup; a changed spec is generation 2, same uid.
    const before = fake.requests.length;
    const again = await executeJob(
      agentJob("apply", configMap("org-a", "settings", { a: "c" })),
      backend,
      CLUSTER_ID,
    );
    expect(again).toMatchObject({ uid: ref.uid, generation: 2 });
    expect(fake.requests.slice(before).map((request) => `${request.method} ${request.path}`)).toEqual([
      "PATCH /api/v1/namespaces/org-a/configmaps/settings",
    ]);
  });

  it("leaves an existing namespace alone and takes over fields another manager owns (force)", async () => {
    fake.seed("v1", { kind: "Namespace", metadata: { name: "org-existing", labels: { owner: "ops" } } });
    fake.seed(
      "v1",
      { kind: "ConfigMap", metadata: { name: "shared", namespace: "org-existing" }, data: { a: "x" } },
      "helm",
    );
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    const ref = await executeJob(agentJob("apply", configMap("org-existing", "shared")), backend, CLUSTER_ID);
    expect(ref.generation).toBe(2);
    expect(fake.object("v1", "namespaces", undefined, "org-existing")?.metadata.labels).toEqual({
      owner: "ops",
    });
    expect(
      fake.requests.filter((request) => request.method === "POST" && request.path === "/api/v1/namespaces"),
    ).toHaveLength(1);
  });

  it("applies an ApplicationInstance (a CRD found through discovery) and reads back uid and generation", async () => {
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    const job = agentJob("intent", {
      intent: "ensure-application-instance",
      applicationInstance: applicationInstance("org-b", "vault"),
    });
    const ref = await executeJob(job, backend, CLUSTER_ID);
    expect(ref).toEqual({
      apiVersion: "apps.vworkspace.io/v1alpha1",
      kind: "ApplicationInstance",
      namespace: "org-b",
      name: "vault",
      uid: expect.stringMatching(UUID),
      generation: 1,
    });
    const stored = fake.object("apps.vworkspace.io/v1alpha1", "applicationinstances", "org-b", "vault");
    expect(stored?.spec).toEqual({
      appRef: { catalogId: "vaultwarden" },
      release: { name: "vault", namespace: "org-b" },
    });
    expect(stored?.metadata.labels).toMatchObject({ team: "a", "app.vworkspace.io/cluster-id": CLUSTER_ID });
  });

  it("turns a field-manager conflict into a conflict result", async () => {
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    fake.failNext(
      "PATCH",
      /configmaps\/contested$/,
      409,
      "Conflict",
      'Apply failed with 1 conflict: conflict with "flux": .data.a',
    );
    const job = agentJob("apply", configMap("default", "contested"));
    await expect(executeJob(job, backend, CLUSTER_ID)).rejects.toBeInstanceOf(ApplyConflictError);

    fake.failNext(
      "PATCH",
      /configmaps\/contested$/,
      409,
      "Conflict",
      'Apply failed with 1 conflict: conflict with "flux": .data.a',
    );
    const result = await decideResult(
      decideContext(backend),
      agentJob("apply", configMap("default", "contested")),
    );
    expect(result).toEqual({
      outcome: "conflict",
      error: 'apply ConfigMap default/contested: Apply failed with 1 conflict: conflict with "flux": .data.a',
      timestamp: expect.any(String),
    });
  });

  it("deletes, tolerating 404, and reports the deleted object's uid", async () => {
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    const applied = await executeJob(agentJob("apply", configMap("default", "doomed")), backend, CLUSTER_ID);
    const payload = { apiVersion: "v1", kind: "ConfigMap", name: "doomed", namespace: "default" };
    const deleted = await executeJob(agentJob("delete", payload), backend, CLUSTER_ID);
    expect(deleted).toEqual({ ...payload, uid: applied.uid, generation: 1 });
    expect(fake.object("v1", "configmaps", "default", "doomed")).toBeUndefined();

    const missing = await decideResult(decideContext(backend), agentJob("delete", payload));
    expect(missing).toMatchObject({ outcome: "succeeded", appliedRef: payload });
    expect(missing.appliedRef?.uid).toBeUndefined();

    const gone = await decideResult(
      decideContext(backend),
      agentJob("intent", { intent: "delete-application-instance", name: "never", namespace: "org-b" }),
    );
    expect(gone).toMatchObject({
      outcome: "succeeded",
      appliedRef: { kind: "ApplicationInstance", name: "never" },
    });
  });

  it("fails a job for a kind the cluster does not serve, with the API server's reason", async () => {
    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    const widget = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "default" },
    };
    const result = await decideResult(decideContext(backend), agentJob("apply", widget));
    expect(result.outcome).toBe("failed");
    expect(result.error).toContain("apply Widget default/w");
  });

  it("reads the server version for heartbeats", async () => {
    expect(await createKubernetesBackend(kube, CLUSTER_ID).version()).toBe("v1.31.2");
  });
});

describe("credentials in a Kubernetes Secret", () => {
  it("persists the Go operator's keys and reads them back", async () => {
    const store = createSecretStore(kube, "vworkspace-system", "agent-credentials");
    await expect(store.load()).rejects.toThrow(/not found; run "vwksp-agent register" first/);
    const credentials = {
      baseUrl: "https://cp.example",
      clusterId: CLUSTER_ID,
      token: `vwksp-agt-${"a".repeat(64)}`,
      signingPublicKey: "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
    };
    await store.save(credentials);
    const secret = fake.object("v1", "secrets", "vworkspace-system", "agent-credentials");
    const data = secret?.data as Record<string, string>;
    const decoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
    );
    expect(decoded).toEqual({
      "odoo-base-url": "https://cp.example",
      "control-plane-base-url": "https://cp.example",
      "cluster-id": CLUSTER_ID,
      token: credentials.token,
      "signing-public-key": credentials.signingPublicKey,
    });
    expect(secret?.type).toBe("Opaque");
    expect(await store.load()).toEqual({
      ...credentials,
      signingPublicKey: credentials.signingPublicKey.trim(),
    });
    expect(store.location).toBe("secret vworkspace-system/agent-credentials");
  });

  it("keeps processed idempotency keys in the Go operator's ConfigMap, per cluster", async () => {
    const store = createSecretStore(kube, "vworkspace-system", "agent-credentials");
    const keys = store.idempotency(CLUSTER_ID);
    expect(await keys.has("applicationinstance/org-a/vault@1")).toBe(false);
    await keys.record("applicationinstance/org-a/vault@1");
    const configMap = fake.object("v1", "configmaps", "vworkspace-system", "vworkspace-applied-jobs");
    expect(
      JSON.parse(((configMap?.data ?? {}) as Record<string, string>)["applied-keys.json"] ?? ""),
    ).toEqual(["applicationinstance/org-a/vault@1"]);
    expect(await store.idempotency(CLUSTER_ID).has("applicationinstance/org-a/vault@1")).toBe(true);
    expect(await store.idempotency("another-cluster").has("applicationinstance/org-a/vault@1")).toBe(false);
  });
});
