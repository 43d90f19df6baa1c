import { createOdooClient } from "@vwksp/odoo";
import { clusterModel, DEFAULT_FAKE_API_KEY, type FakeOdoo, startFakeOdoo } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster, eventually, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

const MODEL = "vws.cluster";
const WEBHOOK_SECRET = "webhook-secret-for-tests";

describe.each([
  { version: 17 as const, protocol: "jsonrpc" },
  { version: 19 as const, protocol: "json2" },
])("Odoo $version bridge ($protocol)", ({ version, protocol }) => {
  let fake: FakeOdoo;
  let env: TestEnv;
  let harness: Awaited<ReturnType<typeof createTestApp>>;
  let worker: ReturnType<typeof createTestWorker>;
  let key: string;
  const logs = createLogCapture();
  let odooConfig: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeOdoo({ version });
    env = await createTestEnv();
    odooConfig = {
      ODOO_URL: fake.url,
      ODOO_DB: fake.db,
      ODOO_LOGIN: "admin",
      ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
      ODOO_SYNC_INTERVAL_SECONDS: "3600",
      ODOO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    harness = await createTestApp({ env, configOverrides: odooConfig, captureLogs: logs });
    worker = createTestWorker({ env, configOverrides: odooConfig, captureLogs: logs, odooBackoffBaseMs: 50 });
    key = await adminKey(harness);
  });

  afterAll(async () => {
    await worker?.close();
    await harness?.close();
    await env?.close();
    await fake?.close();
  });

  const odooRecord = (clusterId: string) => fake.records(MODEL).find((row) => row.cluster_id === clusterId);
  const pull = async () => worker.processors["odoo-sync"]?.pull?.({}, undefined as never);
  // An Odoo user's own calls; a fixed protocol, so the version probes counted below are the bridge's.
  const odooAsAdmin = () =>
    createOdooClient({
      url: fake.url,
      db: fake.db,
      login: "admin",
      apiKey: DEFAULT_FAKE_API_KEY,
      protocol: protocol as "jsonrpc" | "json2",
    });

  it("pushes a new cluster, its registration and its heartbeat versions to Odoo", async () => {
    const cluster = await createCluster(harness, key, { displayName: "Pushed" });
    const created = await eventually(async () => odooRecord(cluster.id));
    expect(created).toMatchObject({
      name: "Pushed",
      slug: "pushed",
      state: "pending",
      connectivity_mode: "pull",
      allowed_namespaces: "org-*\ndefault",
    });

    const registered = await registeredCluster(harness, key, { displayName: "Registered" });
    await eventually(async () => odooRecord(registered.cluster.id)?.state === "connected");
    const heartbeat = await harness.app.inject({
      method: "POST",
      url: "/api/agent/events",
      headers: agentHeaders(registered.credential),
      payload: JSON.stringify({
        events: [
          {
            kind: "ClusterHeartbeat",
            resourceRef: {
              apiVersion: "ops.vworkspace.io/v1alpha1",
              kind: "Cluster",
              namespace: "",
              name: registered.cluster.id,
            },
            timestamp: new Date().toISOString(),
            cluster: { operatorVersion: "1.4.2", fluxVersion: "2.4.0" },
          },
        ],
      }),
    });
    expect(heartbeat.statusCode).toBe(204);
    await harness.deps.heartbeats.flush();
    const record = await eventually(async () => {
      const row = odooRecord(registered.cluster.id);
      return row?.operator_version === "1.4.2" ? row : undefined;
    });
    expect(record).toMatchObject({
      flux_version: "2.4.0",
      state: "connected",
      last_heartbeat: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
    });
    expect(fake.records(MODEL).filter((row) => row.cluster_id === registered.cluster.id)).toHaveLength(1);

    const status = await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) });
    expect(status.json()).toMatchObject({
      enabled: true,
      protocol,
      lastPushAt: expect.any(String),
      lastError: null,
    });
    // The bridge spans every organization: an organization's own key does not see its state.
    const { key: orgKey } = await harness.deps.apiKeys.create({
      organizationId: (
        await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: registered.cluster.id } })
      ).organizationId,
      name: "org reader",
      scopes: ["clusters:read", "jobs:read"],
    });
    const refused = await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(orgKey) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: "insufficient_scope" });
  });

  it("pulls a record created in Odoo into a new cluster identity and writes the UUID back", async () => {
    const odooId = await odooAsAdmin().create(MODEL, {
      name: "Made in Odoo",
      connectivity_mode: "gitops",
      allowed_namespaces: "org-odoo\nteam-*",
    });
    await pull();
    const record = fake.records(MODEL).find((row) => row.id === odooId);
    expect(record?.cluster_id).toMatch(/^[0-9a-f-]{36}$/);
    const cluster = await harness.deps.db.cluster.findUniqueOrThrow({
      where: { id: record?.cluster_id as string },
    });
    expect(cluster).toMatchObject({
      displayName: "Made in Odoo",
      slug: "made-in-odoo",
      connectivityMode: "gitops",
      allowedNamespaces: ["org-odoo", "team-*"],
      status: "pending",
      odooRecordId: odooId,
    });
    expect(record?.slug).toBe("made-in-odoo");
  });

  it("makes one cluster of a new record that several jobs take at once", async () => {
    const odooId = await odooAsAdmin().create(MODEL, { name: "Taken thrice" });
    const pullRecord = () =>
      worker.processors["odoo-sync"]?.["pull-record"]?.({ odooId }, undefined as never);
    await Promise.all([pullRecord(), pullRecord(), pull()]);
    const clusters = await harness.deps.db.cluster.findMany({ where: { odooRecordId: odooId } });
    expect(clusters).toHaveLength(1);
    expect(fake.records(MODEL).find((row) => row.id === odooId)?.cluster_id).toBe(clusters[0]?.id);
  });

  it("keeps ownership apart: Odoo's configuration comes in, our runtime state is not overwritten", async () => {
    const { cluster } = await registeredCluster(harness, key, { displayName: "Owned" });
    const record = await eventually(async () =>
      odooRecord(cluster.id)?.state === "connected" ? odooRecord(cluster.id) : undefined,
    );
    await odooAsAdmin().write(MODEL, [record.id as number], {
      name: "Renamed in Odoo",
      allowed_namespaces: "org-x",
      state: "disabled",
    });
    await pull();
    const here = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(here).toMatchObject({
      displayName: "Renamed in Odoo",
      allowedNamespaces: ["org-x"],
      status: "connected",
    });
    // The push that follows the change restores our runtime field and leaves Odoo's name alone.
    await eventually(async () => odooRecord(cluster.id)?.state === "connected");
    expect(odooRecord(cluster.id)?.name).toBe("Renamed in Odoo");
  });

  it("does not bounce its own writes back as changes", async () => {
    const cluster = await createCluster(harness, key, { displayName: "No bounce" });
    await eventually(async () => odooRecord(cluster.id));
    await eventually(
      async () =>
        (await worker.deps.queues.queue("odoo-sync").getJobCounts("waiting", "delayed", "active")).delayed ===
        0,
    );
    await pull();
    const updatesBefore = await harness.deps.db.auditEntry.count({ where: { kind: "ClusterUpdated" } });
    const writesBefore = fake.requests.filter(
      (request) => request.body.includes('"write"') || request.path.endsWith("/write"),
    ).length;
    await pull();
    await pull();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await harness.deps.db.auditEntry.count({ where: { kind: "ClusterUpdated" } })).toBe(updatesBefore);
    const writesAfter = fake.requests.filter(
      (request) => request.body.includes('"write"') || request.path.endsWith("/write"),
    ).length;
    expect(writesAfter).toBe(writesBefore);
  });

  it("rides out an outage with backoff and catches up, recording the error meanwhile", async () => {
    fake.failNext(3, { type: "status", status: 503 });
    const cluster = await createCluster(harness, key, { displayName: "Through the outage" });
    const record = await eventually(async () => odooRecord(cluster.id), 10_000);
    expect(record).toMatchObject({ name: "Through the outage" });
    const retries = logs.lines.filter((line) =>
      line.includes(`odoo sync will retry: push cluster ${cluster.id}`),
    );
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries.join("\n")).toContain("503");
    // Other pushes in flight may have drawn some of the failures; once they are retried too the
    // bridge reports itself healthy again.
    await eventually(async () => {
      const status = await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) });
      return status.json().lastError === null;
    }, 10_000);
  });

  it("records a non-retryable error and does not retry it", async () => {
    const cluster = await createCluster(harness, key, { displayName: "Refused" });
    await eventually(async () => odooRecord(cluster.id));
    fake.failNext(1, {
      type: "odoo",
      name: "odoo.exceptions.AccessError",
      message: "You are not allowed to modify 'Cluster' (vws.cluster) records.",
    });
    await harness.deps.db.cluster.update({ where: { id: cluster.id }, data: { operatorVersion: "9.9.9" } });
    await harness.deps.notifier.clusterChanged(cluster.id);
    const state = await eventually(async () => {
      const row = await harness.deps.db.odooSyncState.findUnique({ where: { id: "default" } });
      return row?.lastError?.includes("not allowed") ? row : undefined;
    });
    expect(state.lastError).toContain(`push cluster ${cluster.id}`);
    // The error is recorded before the job is moved to failed: wait for BullMQ to catch up.
    await eventually(async () => {
      const failed = await worker.deps.queues.queue("odoo-sync").getFailed();
      return failed.some((job) => job.data.clusterId === cluster.id && job.attemptsMade === 1);
    });
    expect(odooRecord(cluster.id)?.operator_version).toBe(false);
  });

  it("pulls one record at once from Odoo's webhook, with the secret checked in constant time", async () => {
    const odooId = await odooAsAdmin().create(MODEL, { name: "Webhooked" });
    const wrong = await harness.app.inject({
      method: "POST",
      url: "/api/v1/odoo/webhook?secret=nope",
      payload: { _model: MODEL, _id: odooId },
    });
    expect(wrong.statusCode).toBe(401);
    const missing = await harness.app.inject({
      method: "POST",
      url: "/api/v1/odoo/webhook",
      payload: { _model: MODEL, _id: odooId },
    });
    expect(missing.statusCode).toBe(401);
    const accepted = await harness.app.inject({
      method: "POST",
      url: `/api/v1/odoo/webhook?secret=${WEBHOOK_SECRET}`,
      payload: { _model: MODEL, _id: odooId, _action: "Send Webhook Notification(#12)", name: "Webhooked" },
    });
    expect(accepted.statusCode).toBe(202);
    const clusterId = await eventually(
      async () => fake.records(MODEL).find((row) => row.id === odooId)?.cluster_id as string | undefined,
    );
    expect(await harness.deps.db.cluster.findUnique({ where: { id: clusterId } })).toMatchObject({
      displayName: "Webhooked",
    });
    expect(logs.text()).not.toContain(WEBHOOK_SECRET);
  });

  it("asks Odoo for its version at most once per connection; a sync cycle costs one or two requests", async () => {
    const idle = async () =>
      Object.values(
        await worker.deps.queues
          .queue("odoo-sync")
          .getJobCounts("waiting", "delayed", "active", "prioritized"),
      ).every((count) => count === 0);
    await eventually(idle, 10_000);
    // Every push and pull of the tests above went over one connection (the outage test's 503s
    // were answers, not a lost connection).
    expect(fake.callCount("common.version")).toBe(1);
    expect(fake.callCount(`${MODEL}.fields_get`)).toBe(1);

    fake.clearRequests();
    await pull();
    expect(fake.calls()).toEqual([`${MODEL}.search_read`]);

    const cluster = await createCluster(harness, key, { displayName: "Counted" });
    await eventually(async () => odooRecord(cluster.id));
    await eventually(idle);
    fake.clearRequests();
    await harness.deps.db.cluster.update({ where: { id: cluster.id }, data: { operatorVersion: "2.0.0" } });
    await harness.deps.notifier.clusterChanged(cluster.id);
    await eventually(async () => odooRecord(cluster.id)?.operator_version === "2.0.0");
    await eventually(idle);
    expect(fake.calls()).toEqual([`${MODEL}.search_read`, `${MODEL}.write`]);
    fake.clearRequests();
    await harness.deps.notifier.clusterChanged(cluster.id); // nothing new: nothing written
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await eventually(idle);
    expect(fake.calls()).toEqual([`${MODEL}.search_read`]);

    // A lost connection: the next call asks again which Odoo this is, once.
    fake.failNext(1, { type: "drop" });
    await expect(pull()).rejects.toThrow(/socket|fetch failed|ECONNRESET|other side closed/i);
    await pull();
    await pull();
    expect(fake.callCount("common.version")).toBe(1);
    expect(fake.callCount(`${MODEL}.fields_get`)).toBe(1);
  });

  it("reports a model without the contract's cluster_id field and does not retry", async () => {
    fake.registerModel(clusterModel({ without: ["cluster_id"] }));
    fake.failNext(1, { type: "drop" }); // the bridge learns the model's fields again after this
    await expect(pull()).rejects.toThrow();
    await expect(pull()).rejects.toThrow(/the Odoo model vws.cluster has no field cluster_id/);
    const status = await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) });
    expect(status.json().lastError).toBe(
      "pull: the Odoo model vws.cluster has no field cluster_id (cluster_id; ODOO_FIELD_MAP)",
    );
    fake.registerModel(clusterModel());
  });

  it("never logs the Odoo API key", () => {
    expect(logs.lines.length).toBeGreaterThan(10);
    expect(logs.text()).not.toContain(DEFAULT_FAKE_API_KEY);
  });
});
