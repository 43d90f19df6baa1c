import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  ack,
  adminKey,
  createCluster,
  eventually,
  poll,
  postResult,
  postStatus,
  rawJob,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

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

const jobState = async (id: string) => (await harness.deps.db.job.findUniqueOrThrow({ where: { id } })).state;
const whenReady = (id: string) => eventually(async () => (await jobState(id)) === "ready");
/** The `JobFinished` domain events (job.finished webhooks) written for a job. */
const finishedEvents = async (jobId: string) =>
  (
    await harness.deps.db.outboxEvent.findMany({
      where: { kind: "JobFinished", data: { path: ["jobId"], equals: jobId } },
    })
  ).map((event) => event.data);

describe("deploy an app", () => {
  it("queues an ensure-application-instance job that the worker renders and the agent receives", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/applications`,
      headers: adminHeaders(key),
      payload: {
        catalogId: "vaultwarden",
        namespace: "org-demo",
        name: "vault",
        hostname: "vault.demo.example",
        values: { a: 1 },
      },
    });
    expect(response.statusCode).toBe(202);
    const accepted = response.json();
    expect(accepted).toMatchObject({
      jobId: expect.stringMatching(/^j-[0-9A-Z]{26}$/),
      state: "queued",
      idempotencyKey: "applicationinstance/org-demo/vault@1",
    });
    await whenReady(accepted.jobId);

    const jobs = await poll(harness, cluster.id, credential);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job).toMatchObject({
      id: accepted.jobId,
      kind: "intent",
      idempotencyKey: "applicationinstance/org-demo/vault@1",
    });
    expect(job?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(job?.expiresAt).toMatch(/Z$/);
    expect(job?.signature).toBeUndefined();
    expect(job?.payload).toMatchObject({
      intent: "ensure-application-instance",
      applicationInstance: {
        apiVersion: "apps.vworkspace.io/v1alpha1",
        kind: "ApplicationInstance",
        metadata: {
          name: "vault",
          namespace: "org-demo",
          labels: {
            "app.vworkspace.io/managed-by": "control-plane",
            "app.vworkspace.io/cluster-id": cluster.id,
          },
        },
        spec: {
          appRef: { catalogId: "vaultwarden" },
          chart: { sourceType: "helm", url: "https://guerzon.github.io/vaultwarden", name: "vaultwarden" },
          release: { name: "vault", namespace: "org-demo" },
          values: { source: "inline", inline: { a: 1 } },
          integrations: { ingress: { enabled: true, host: "vault.demo.example" } },
        },
      },
    });

    const again = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/applications`,
      headers: adminHeaders(key),
      payload: { catalogId: "vaultwarden", namespace: "org-demo", name: "vault" },
    });
    expect(again.json().idempotencyKey).toBe("applicationinstance/org-demo/vault@2");
    const audit = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: { startsWith: "Job" } },
    });
    expect(audit.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(["JobRequested", "JobDelivered"]),
    );
  });

  it("refuses requests the cluster does not allow, with a clear 4xx", async () => {
    const { cluster } = await registeredCluster(harness, key, { allowedCatalogEntries: ["nextcloud"] });
    const pending = await createCluster(harness, key);
    const cases: [string, Record<string, unknown>, number, string][] = [
      [
        cluster.id,
        { catalogId: "nextcloud", namespace: "kube-system", name: "x" },
        403,
        "namespace_not_allowed",
      ],
      [cluster.id, { catalogId: "no-such-app", namespace: "org-a", name: "x" }, 400, "unknown_catalog_entry"],
      [
        cluster.id,
        { catalogId: "vaultwarden", namespace: "org-a", name: "x" },
        403,
        "catalog_entry_not_allowed",
      ],
      [cluster.id, { catalogId: "nextcloud", namespace: "org-a", name: "Not_DNS" }, 400, "invalid_request"],
      [pending.id, { catalogId: "nextcloud", namespace: "org-a", name: "x" }, 409, "cluster_not_registered"],
      [
        "00000000-0000-4000-8000-000000000000",
        { catalogId: "nextcloud", namespace: "org-a", name: "x" },
        404,
        "not_found",
      ],
    ];
    for (const [clusterId, payload, status, code] of cases) {
      const response = await harness.app.inject({
        method: "POST",
        url: `/api/v1/clusters/${clusterId}/applications`,
        headers: adminHeaders(key),
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
      expect(response.json().error).toBe(code);
    }
    expect(await harness.deps.db.job.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("queues delete-application-instance and request-operation intents", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const deleted = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}/applications/org-a/vault`,
      headers: adminHeaders(key),
    });
    expect(deleted.statusCode).toBe(202);
    const operation = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/operations`,
      headers: adminHeaders(key),
      payload: { template: "backup.velero", namespace: "org-a", name: "vault", parameters: { ttl: "72h" } },
    });
    expect(operation.statusCode).toBe(202);
    const refused = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/operations`,
      headers: adminHeaders(key),
      payload: { template: "format.disk", namespace: "org-a", name: "vault" },
    });
    expect(refused.statusCode).toBe(400);
    await whenReady(operation.json().jobId);
    await whenReady(deleted.json().jobId);
    const jobs = await poll(harness, cluster.id, credential);
    expect(jobs.map((job) => job.payload.intent)).toEqual([
      "delete-application-instance",
      "request-operation",
    ]);
    expect(jobs[0]?.payload).toEqual({
      intent: "delete-application-instance",
      name: "vault",
      namespace: "org-a",
    });
    expect(jobs[1]?.payload).toMatchObject({
      operation: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Operation",
        metadata: { namespace: "org-a" },
        spec: {
          type: "Backup",
          engine: "velero",
          targetRef: { kind: "ApplicationInstance", name: "vault" },
          parameters: { ttl: "72h" },
        },
      },
    });
  });

  it("signs payloads for clusters that want it (Ed25519 over canonical JSON)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { signPayloads: true });
    const { jobId } = await rawJob(harness, key, cluster.id, "signed");
    await whenReady(jobId);
    const [job] = await poll(harness, cluster.id, credential);
    const { verifyPayloadSignature } = await import("@vwksp/core");
    expect(job?.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(verifyPayloadSignature(cluster.signingPublicKey, job?.payload, job?.signature ?? "")).toBe(true);
    expect(
      verifyPayloadSignature(cluster.signingPublicKey, { ...job?.payload, extra: 1 }, job?.signature ?? ""),
    ).toBe(false);
  });
});

describe("raw jobs", () => {
  const operation = (type: string, engine: string) => ({
    intent: "request-operation",
    operation: {
      apiVersion: "ops.vworkspace.io/v1alpha1",
      kind: "Operation",
      metadata: { name: "op", namespace: "org-a" },
      spec: { type, engine, targetRef: { kind: "ApplicationInstance", name: "x" } },
    },
  });
  const instance = (catalogId: string, namespace?: string) => ({
    intent: "ensure-application-instance",
    applicationInstance: {
      apiVersion: "apps.vworkspace.io/v1alpha1",
      kind: "ApplicationInstance",
      metadata: { name: "app", ...(namespace ? { namespace } : {}) },
      spec: { appRef: { catalogId } },
    },
  });
  const raw = (clusterId: string, body: Record<string, unknown>) =>
    harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${clusterId}/jobs`,
      headers: adminHeaders(key),
      payload: body,
    });

  it("get the allow-lists of the application and operation routes: no way around them", async () => {
    const { cluster } = await registeredCluster(harness, key, {
      allowedNamespaces: ["org-*"],
      allowedCatalogEntries: ["vaultwarden"],
      allowedOperationTemplates: ["backup.velero"],
    });
    const cases: [Record<string, unknown>, number, string][] = [
      [{ kind: "intent", payload: instance("nextcloud", "org-a") }, 403, "catalog_entry_not_allowed"],
      [{ kind: "intent", payload: instance("vaultwarden", "kube-system") }, 403, "namespace_not_allowed"],
      [{ kind: "intent", payload: instance("vaultwarden") }, 400, "invalid_payload"],
      [{ kind: "intent", payload: operation("RunCommand", "job") }, 403, "operation_template_not_allowed"],
      [{ kind: "intent", payload: operation("Backup", "homemade") }, 403, "operation_template_not_allowed"],
      [
        { kind: "intent", payload: { intent: "delete-application-instance", name: "app" } },
        400,
        "invalid_payload",
      ],
      [
        {
          kind: "apply",
          payload: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "pwn" },
            roleRef: { kind: "ClusterRole", name: "cluster-admin" },
            subjects: [],
          },
        },
        403,
        "kind_not_allowed",
      ],
      // A namespace field does not make a cluster-scoped kind namespaced: Kubernetes ignores it.
      [
        {
          kind: "apply",
          payload: {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "pwn", namespace: "org-a" },
            roleRef: { kind: "ClusterRole", name: "cluster-admin" },
            subjects: [],
          },
        },
        403,
        "kind_not_allowed",
      ],
      [
        {
          kind: "delete",
          payload: {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            name: "applicationinstances.apps.vworkspace.io",
            namespace: "org-a",
          },
        },
        403,
        "kind_not_allowed",
      ],
      [
        {
          kind: "apply",
          payload: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: "kube-system", namespace: "org-a" },
          },
        },
        400,
        "invalid_payload",
      ],
      // Custom resources the intents exist for go through the intents.
      [
        {
          kind: "apply",
          payload: {
            apiVersion: "ops.vworkspace.io/v1alpha1",
            kind: "Operation",
            metadata: { name: "o", namespace: "org-a" },
          },
        },
        403,
        "kind_not_allowed",
      ],
      // The operator reads keys case-insensitively, the last one winning: no two that differ only in case.
      [
        {
          kind: "intent",
          payload: {
            ...instance("vaultwarden", "org-a"),
            applicationinstance: instance("nextcloud", "kube-system").applicationInstance,
          },
        },
        400,
        "invalid_payload",
      ],
      [
        {
          kind: "intent",
          payload: {
            intent: "ensure-application-instance",
            applicationInstance: {
              metadata: { name: "app", namespace: "org-a" },
              spec: { appRef: { catalogId: "vaultwarden", catalogid: "nextcloud" } },
            },
          },
        },
        400,
        "invalid_payload",
      ],
      // The chart and the release namespace are the catalog entry's and the instance's own.
      [
        {
          kind: "intent",
          payload: {
            intent: "ensure-application-instance",
            applicationInstance: {
              metadata: { name: "app", namespace: "org-a" },
              spec: {
                appRef: { catalogId: "vaultwarden" },
                chart: {
                  sourceType: "oci",
                  url: "oci://evil.example/charts",
                  name: "anything",
                  version: "1.0.0",
                },
              },
            },
          },
        },
        403,
        "chart_not_in_catalog",
      ],
      [
        {
          kind: "intent",
          payload: {
            intent: "ensure-application-instance",
            applicationInstance: {
              metadata: { name: "app", namespace: "org-a" },
              spec: {
                appRef: { catalogId: "vaultwarden" },
                release: { name: "app", namespace: "kube-system" },
              },
            },
          },
        },
        400,
        "invalid_payload",
      ],
      [
        {
          kind: "apply",
          payload: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "n".repeat(254), namespace: "org-a" },
          },
        },
        400,
        "invalid_payload",
      ],
      [
        { kind: "delete", payload: { apiVersion: "v1", kind: "Namespace", name: "kube-system" } },
        403,
        "namespace_not_allowed",
      ],
      [
        {
          kind: "apply",
          payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "kube-system" } },
        },
        403,
        "namespace_not_allowed",
      ],
    ];
    for (const [body, status, code] of cases) {
      const response = await raw(cluster.id, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(status);
      expect(response.json().error, JSON.stringify(body)).toBe(code);
    }
    expect(await harness.deps.db.job.count({ where: { clusterId: cluster.id } })).toBe(0);

    const vaultwarden = await harness.deps.db.catalogEntry.findUniqueOrThrow({
      where: { id: "vaultwarden" },
    });
    const withChart = instance("vaultwarden", "org-a");
    Object.assign(withChart.applicationInstance.spec, {
      chart: { ...(vaultwarden.chart as Record<string, unknown>), version: "9.9.9" },
      release: { name: "app", namespace: "org-a" },
    });
    for (const body of [
      { kind: "intent", payload: instance("vaultwarden", "org-a") },
      { kind: "intent", payload: withChart },
      { kind: "intent", payload: operation("Backup", "velero") },
      { kind: "intent", payload: { intent: "delete-application-instance", name: "app", namespace: "org-a" } },
      { kind: "apply", payload: { apiVersion: "v1", kind: "Namespace", metadata: { name: "org-new" } } },
      { kind: "delete", payload: { apiVersion: "v1", kind: "Secret", name: "s", namespace: "org-a" } },
      {
        kind: "apply",
        payload: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "web", namespace: "org-a" },
          spec: {},
        },
      },
    ]) {
      expect((await raw(cluster.id, body)).statusCode, JSON.stringify(body)).toBe(202);
    }
  });

  it("are idempotent per cluster with the caller's idempotencyKey: same job answers the first, another is 409", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const other = await registeredCluster(harness, key);
    const configMap = (data: Record<string, string>) => ({
      kind: "apply",
      idempotencyKey: "configmap/default/settings@7",
      payload: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "default" },
        data,
      },
    });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => raw(cluster.id, configMap({ a: "1", b: "2" }))),
    );
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202, 202, 202]);
    expect(new Set(answers.map((answer) => answer.json().id)).size).toBe(1);
    // Key order does not make another job.
    const reordered = await raw(cluster.id, {
      ...configMap({ b: "2", a: "1" }),
      payload: {
        metadata: { namespace: "default", name: "settings" },
        kind: "ConfigMap",
        apiVersion: "v1",
        data: { b: "2", a: "1" },
      },
    });
    expect(reordered.json().id).toBe(answers[0]?.json().id);

    const changed = await raw(cluster.id, configMap({ a: "changed" }));
    expect(changed.statusCode).toBe(409);
    expect(changed.json().error).toBe("idempotency_key_reused");
    expect(changed.json().message).toContain(answers[0]?.json().id);
    // The key is the cluster's own: another cluster may use it.
    expect((await raw(other.cluster.id, configMap({ a: "changed" }))).statusCode).toBe(202);
    expect(await harness.deps.db.job.count({ where: { clusterId: cluster.id } })).toBe(1);
  });

  it("are checked again after an allow-list changes: those not delivered yet fail if no longer covered", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const { jobId: wasReady } = await rawJob(harness, key, cluster.id, "was-ready");
    await whenReady(wasReady);
    await worker.close();
    try {
      const { jobId: wasQueued } = await rawJob(harness, key, cluster.id, "was-queued");
      const narrowed = await harness.app.inject({
        method: "PATCH",
        url: `/api/v1/clusters/${cluster.id}`,
        headers: adminHeaders(key),
        payload: { allowedNamespaces: ["org-*"] },
      });
      expect(narrowed.statusCode, narrowed.body).toBe(200);
      // The ready one went back to the worker; the reconciler hands it over.
      expect(await jobState(wasReady)).toBe("queued");
      worker = createTestWorker({ env, clock });
      clock.advance(11_000);
      await worker.processors.maintenance?.["reconcile-queued"]?.({}, undefined as never);
      for (const jobId of [wasQueued, wasReady]) {
        const job = await eventually(async () => {
          const row = await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });
          return row.state === "queued" ? undefined : row;
        });
        expect(job.state).toBe("failed");
        expect(job.deliveries).toBe(0);
        expect(job.error).toMatch(/namespace "default" matches none.*checked again at dispatch/);
      }
    } finally {
      await worker.close();
      worker = createTestWorker({ env, clock });
    }
  });
});

describe("agent job protocol", () => {
  it("acks (204, repeatable), takes statuses, and closes on the first result (then 409)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "lifecycle");
    await whenReady(jobId);
    await poll(harness, cluster.id, credential);
    expect((await ack(harness, jobId, credential)).statusCode).toBe(204);
    expect((await ack(harness, jobId, credential)).statusCode).toBe(204);
    const status = await postStatus(harness, jobId, credential, {
      phase: "Applying",
      conditions: [
        { type: "Progressing", status: "True", reason: "Applying", message: "", lastTransitionTime: null },
      ],
      timestamp: "2026-11-27T07:30:00.123456789Z",
    });
    expect(status.statusCode).toBe(204);
    const result = await postResult(harness, jobId, credential, {
      outcome: "succeeded",
      appliedRef: {
        apiVersion: "v1",
        kind: "ConfigMap",
        namespace: "default",
        name: "lifecycle",
        uid: "u-1",
        generation: 1,
      },
      timestamp: new Date().toISOString(),
    });
    expect(result.statusCode).toBe(204);
    const repeat = await postResult(harness, jobId, credential, {
      outcome: "succeeded",
      timestamp: new Date().toISOString(),
    });
    expect(repeat.statusCode).toBe(409);
    expect((await ack(harness, jobId, credential)).statusCode).toBe(409);
    expect(
      (await postStatus(harness, jobId, credential, { phase: "late", timestamp: new Date().toISOString() }))
        .statusCode,
    ).toBe(409);

    const view = await harness.app.inject({ url: `/api/v1/jobs/${jobId}`, headers: adminHeaders(key) });
    expect(view.json()).toMatchObject({
      state: "succeeded",
      outcome: "succeeded",
      deliveries: 1,
      appliedRef: { kind: "ConfigMap", uid: "u-1" },
      statuses: [{ phase: "Applying", conditions: [{ type: "Progressing", status: "True" }] }],
    });
    const kinds = (await harness.deps.db.auditEntry.findMany({ where: { clusterId: cluster.id } })).map(
      (entry) => entry.kind,
    );
    expect(kinds).toEqual(
      expect.arrayContaining(["JobRequested", "JobDelivered", "JobAcked", "JobFinished"]),
    );
  });

  it("answers 404 for unknown ids of any shape and for another cluster's job", async () => {
    const a = await registeredCluster(harness, key);
    const b = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, a.cluster.id, "mine");
    await whenReady(jobId);
    for (const id of [
      "j-01HZZZZZZZZZZZZZZZZZZZZZZZ",
      "nope",
      "..%2F..%2Fetc",
      "x".repeat(150),
      "j-\u0000",
      jobId,
    ]) {
      const credential = id === jobId ? b.credential : a.credential;
      expect((await ack(harness, id, credential)).statusCode, id).toBe(404);
      expect(
        (await postResult(harness, id, credential, { outcome: "noop", timestamp: new Date().toISOString() }))
          .statusCode,
      ).toBe(404);
      expect(
        (await postStatus(harness, id, credential, { phase: "x", timestamp: new Date().toISOString() }))
          .statusCode,
      ).toBe(404);
    }
  });

  it.each([
    [{ outcome: "exploded", timestamp: "2026-11-27T00:00:00Z" }, "outcome"],
    [{ outcome: "failed", timestamp: "2026-11-27T00:00:00Z" }, "error"],
    [{ outcome: "conflict", error: "  ", timestamp: "2026-11-27T00:00:00Z" }, "error"],
    [{ timestamp: "2026-11-27T00:00:00Z" }, "outcome"],
    [{ outcome: "noop", timestamp: "yesterday" }, "timestamp"],
  ])("refuses the result %j with 400 and leaves the job open", async (body, field) => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "bad-result");
    await whenReady(jobId);
    await poll(harness, cluster.id, credential);
    const response = await postResult(harness, jobId, credential, body);
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain(field);
    expect(await jobState(jobId)).toBe("leased");
  });

  it("accepts a failed result with its error and a conflict", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const first = await rawJob(harness, key, cluster.id, "f1");
    const second = await rawJob(harness, key, cluster.id, "f2");
    await whenReady(second.jobId);
    await poll(harness, cluster.id, credential);
    expect(
      (
        await postResult(harness, first.jobId, credential, {
          outcome: "failed",
          error: "boom",
          timestamp: "2026-11-27T00:00:00Z",
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (
        await postResult(harness, second.jobId, credential, {
          outcome: "conflict",
          error: "field manager",
          timestamp: "2026-11-27T00:00:00Z",
        })
      ).statusCode,
    ).toBe(204);
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: first.jobId } });
    expect(job).toMatchObject({ state: "failed", error: "boom" });
  });

  it("validates the poll's query: cluster required (400), foreign cluster (403), wait an integer ≥ 0 (400)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const get = (query: string) =>
      harness.app.inject({ url: `/api/agent/jobs${query}`, headers: agentHeaders(credential, false) });
    expect((await get("?wait=0")).statusCode).toBe(400);
    expect((await get("?cluster=prod-eu&wait=0")).statusCode).toBe(403);
    expect((await get("?cluster=00000000-0000-4000-8000-000000000000&wait=0")).statusCode).toBe(403);
    expect((await get(`?cluster=${"x".repeat(2_000)}&wait=0`)).statusCode).toBe(403);
    for (const wait of ["-1", "1.5", "abc", ""]) {
      expect((await get(`?cluster=${cluster.id}&wait=${wait}`)).statusCode, wait).toBe(400);
    }
    const immediate = await get(`?cluster=${cluster.id}&wait=0`);
    expect(immediate.statusCode).toBe(200);
    expect(immediate.json()).toEqual({ jobs: [] });
    const unauthenticated = await harness.app.inject({ url: `/api/agent/jobs?cluster=${cluster.id}` });
    expect(unauthenticated.statusCode).toBe(401);
  });
});

describe("delivery order, leases and redelivery", () => {
  it("delivers oldest first, at most 10 per answer", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push((await rawJob(harness, key, cluster.id, `fifo-${i}`)).jobId);
    await eventually(
      async () =>
        (await harness.deps.db.job.count({ where: { clusterId: cluster.id, state: "ready" } })) === 12,
    );
    const first = await poll(harness, cluster.id, credential);
    const second = await poll(harness, cluster.id, credential);
    expect(first.map((job) => job.id)).toEqual(ids.slice(0, 10));
    expect(second.map((job) => job.id)).toEqual(ids.slice(10));
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
  });

  it("redelivers after the lease runs out, and after the ack timeout runs out", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "lease", { expiresInSeconds: 7200 });
    await whenReady(jobId);
    expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    clock.advance(61_000);
    expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);

    expect((await ack(harness, jobId, credential)).statusCode).toBe(204);
    clock.advance(300_000);
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    expect(
      (
        await postStatus(harness, jobId, credential, {
          phase: "Working",
          timestamp: new Date().toISOString(),
        })
      ).statusCode,
    ).toBe(204);
    clock.advance(500_000);
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    clock.advance(101_000);
    expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);
    expect((await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).deliveries).toBe(3);
  });

  it("marks a job undeliverable after JOB_MAX_DELIVERIES", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "max");
    await whenReady(jobId);
    for (let delivery = 1; delivery <= 5; delivery += 1) {
      expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);
      clock.advance(61_000);
    }
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(job).toMatchObject({ state: "undeliverable", deliveries: 5 });
    expect(await finishedEvents(jobId)).toEqual([
      { jobId, outcome: "undeliverable", intent: null, error: "not completed after 5 deliveries" },
    ]);
  });

  it("expires a job whose expiresAt passed before delivery, never delivering it", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "expiring", { expiresInSeconds: 30 });
    await whenReady(jobId);
    clock.advance(31_000);
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    expect(await jobState(jobId)).toBe("expired");
    expect(await finishedEvents(jobId)).toEqual([
      { jobId, outcome: "expired", intent: null, error: "expired before it was delivered" },
    ]);
  });

  it("writes job.finished for jobs closed without a result: by the sweep, and cancelled with their cluster", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const sweep = () => worker.processors.maintenance?.["sweep-jobs"]?.({}, undefined as never);
    // Leased, then its expiry passes while the lease runs out: the sweep closes it.
    const { jobId: leased } = await rawJob(harness, key, cluster.id, "swept-leased", {
      expiresInSeconds: 40,
    });
    await whenReady(leased);
    expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([leased]);
    // Ready and never polled for: the sweep expires it too.
    const { jobId: ready } = await rawJob(harness, key, cluster.id, "swept-ready", { expiresInSeconds: 40 });
    await whenReady(ready);
    clock.advance(61_000);
    await sweep();
    expect(await finishedEvents(leased)).toEqual([
      { jobId: leased, outcome: "expired", intent: null, error: "expired before it was completed" },
    ]);
    expect(await finishedEvents(ready)).toEqual([
      { jobId: ready, outcome: "expired", intent: null, error: "expired before it was delivered" },
    ]);
    // A sweep with nothing to close writes nothing more.
    await sweep();
    expect(await finishedEvents(leased)).toHaveLength(1);

    // Open jobs of a cluster being disabled are cancelled with it.
    const { jobId: open } = await rawJob(harness, key, cluster.id, "cancelled-with-cluster");
    await whenReady(open);
    const disable = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(key),
    });
    expect(disable.statusCode, disable.body).toBe(200);
    expect(await finishedEvents(open)).toEqual([
      { jobId: open, outcome: "cancelled", intent: null, error: "cluster disabled" },
    ]);
    const events = await harness.deps.db.outboxEvent.findMany({
      where: { kind: "JobFinished", data: { path: ["jobId"], equals: open } },
    });
    const { organizationId } = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(events[0]).toMatchObject({ clusterId: cluster.id, organizationId });
  });

  it("cancels an open job (never delivered) and refuses to cancel a closed one", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "cancel-me");
    await whenReady(jobId);
    const cancel = await harness.app.inject({
      method: "POST",
      url: `/api/v1/jobs/${jobId}/cancel`,
      headers: adminHeaders(key),
    });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json().state).toBe("cancelled");
    expect(await poll(harness, cluster.id, credential)).toEqual([]);
    const again = await harness.app.inject({
      method: "POST",
      url: `/api/v1/jobs/${jobId}/cancel`,
      headers: adminHeaders(key),
    });
    expect(again.statusCode).toBe(409);
    expect((await ack(harness, jobId, credential)).statusCode).toBe(409);
    expect(await finishedEvents(jobId)).toEqual([
      { jobId, outcome: "cancelled", intent: null, error: "cancelled by an admin" },
    ]);
  });

  it("lists a cluster's jobs by state with a cursor", async () => {
    const { cluster } = await registeredCluster(harness, key);
    for (let i = 0; i < 3; i += 1) await rawJob(harness, key, cluster.id, `list-${i}`);
    await eventually(
      async () =>
        (await harness.deps.db.job.count({ where: { clusterId: cluster.id, state: "ready" } })) === 3,
    );
    const page1 = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/jobs?state=ready&limit=2`,
      headers: adminHeaders(key),
    });
    expect(page1.json().items).toHaveLength(2);
    const page2 = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/jobs?state=ready&limit=2&cursor=${page1.json().nextCursor}`,
      headers: adminHeaders(key),
    });
    expect(page2.json()).toMatchObject({ items: [expect.anything()], nextCursor: null });
  });
});
