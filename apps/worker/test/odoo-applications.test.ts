import { createOdooClient } from "@vwksp/odoo";
import { DEFAULT_FAKE_API_KEY, type FakeOdoo, startFakeOdoo } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
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

// Step 6 of the issue: Workspace Hub → Apps → Deploy app in Odoo, the URL back in Odoo once the
// operator reports Ready=True. Against the fake Odoo on both protocols, with the real worker,
// PostgreSQL and Redis.

const CLUSTERS = "vws.cluster";
const APPS = "vws.application.instance";
const CATALOG = "vws.catalog.entry";
const NAMESPACE = "org-hub";

describe.each([
  { version: 17 as const, protocol: "jsonrpc" as const },
  { version: 19 as const, protocol: "json2" as const },
])("Odoo $version applications ($protocol)", ({ version, protocol }) => {
  let fake: FakeOdoo;
  let env: TestEnv;
  let harness: Awaited<ReturnType<typeof createTestApp>>;
  let worker: ReturnType<typeof createTestWorker>;
  let key: string;
  const logs = createLogCapture();

  beforeAll(async () => {
    fake = await startFakeOdoo({ version });
    env = await createTestEnv();
    const odooConfig = {
      ODOO_URL: fake.url,
      ODOO_DB: fake.db,
      ODOO_LOGIN: "admin",
      ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
      ODOO_PROTOCOL: protocol,
      ODOO_SYNC_INTERVAL_SECONDS: "3600",
      ODOO_WEBHOOK_SECRET: "webhook-secret-for-tests",
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

  const odoo = () =>
    createOdooClient({ url: fake.url, db: fake.db, login: "admin", apiKey: DEFAULT_FAKE_API_KEY, protocol });
  const run = async (job: "pull-applications" | "reconcile-applications") =>
    worker.processors["odoo-sync"]?.[job]?.({}, undefined as never);
  const clusterRecord = (clusterId: string) =>
    fake.records(CLUSTERS).find((row) => row.cluster_id === clusterId);
  const appRecord = (odooId: number) => fake.records(APPS).find((row) => row.id === odooId);
  const messagesOn = (odooId: number) =>
    fake
      .records("mail.message")
      .filter((row) => row.model === CLUSTERS && row.res_id === odooId)
      .map((row) => String(row.body));
  const idle = async () =>
    (await harness.deps.db.outboxEvent.count({ where: { odooDoneAt: null } })) === 0 &&
    Object.values(
      await worker.deps.queues.queue("odoo-sync").getJobCounts("waiting", "delayed", "active", "prioritized"),
    ).every((count) => count === 0);

  /** A registered cluster whose agent has sent its first heartbeat, and its Odoo record. */
  async function hubCluster(displayName: string) {
    const registered = await registeredCluster(harness, key, { displayName });
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
            cluster: { operatorVersion: "1.4.2" },
          },
        ],
      }),
    });
    expect(heartbeat.statusCode).toBe(204);
    await harness.deps.heartbeats.flush();
    const record = await eventually(async () => clusterRecord(registered.cluster.id));
    // The push records the Odoo id a moment after Odoo has the record: wait for both sides.
    await eventually(
      async () =>
        (await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: registered.cluster.id } }))
          .odooRecordId === record.id,
    );
    return { ...registered, odooId: record.id as number };
  }

  /** The agent takes the job and reports the server-side apply, then the instance's Ready=True. */
  async function operatorDeploys(
    target: { cluster: { id: string }; credential: string },
    name: string,
    jobId: string,
    generation = 1,
  ) {
    await eventually(async () =>
      (await poll(harness, target.cluster.id, target.credential)).some((job) => job.id === jobId),
    );
    expect((await ack(harness, jobId, target.credential)).statusCode).toBe(204);
    const applied = await postResult(harness, jobId, target.credential, {
      outcome: "succeeded",
      appliedRef: applicationInstance(name, `uid-${name}`, generation, NAMESPACE),
      timestamp: new Date().toISOString(),
    });
    expect(applied.statusCode, applied.body).toBe(204);
    const at = new Date().toISOString();
    const ready = await postEvents(harness, target.credential, [
      goTransition(
        applicationInstance(name, `uid-${name}`, generation, NAMESPACE),
        goCondition("Ready", "True", "Ready", "", at),
        at,
      ),
    ]);
    expect(ready.statusCode, ready.body).toBe(204);
  }

  it("pushes the catalog so that Odoo's Deploy app form can offer it", async () => {
    await run("reconcile-applications");
    const vaultwarden = fake.records(CATALOG).find((row) => row.code === "vaultwarden");
    expect(vaultwarden).toMatchObject({
      name: "Vaultwarden",
      chart_name: "vaultwarden",
      chart_version: "0.31.8",
      chart_url: "https://guerzon.github.io/vaultwarden",
      active: true,
    });
    const count = fake.records(CATALOG).length;
    await run("reconcile-applications");
    expect(fake.records(CATALOG)).toHaveLength(count);

    // A change of the shared catalog reaches Odoo at once.
    const changed = await harness.app.inject({
      method: "PUT",
      url: "/api/v1/shared-catalog/vaultwarden",
      headers: adminHeaders(key),
      payload: {
        name: "Vaultwarden",
        chart: {
          sourceType: "helm",
          url: "https://guerzon.github.io/vaultwarden",
          name: "vaultwarden",
          version: "0.32.0",
        },
      },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    await eventually(
      async () => fake.records(CATALOG).find((row) => row.code === "vaultwarden")?.chart_version === "0.32.0",
    );
    expect(fake.records(CATALOG)).toHaveLength(count);
  });

  it("deploys an application created in Odoo and writes its URL back once the operator reports Ready=True", async () => {
    const target = await hubCluster("Hub one");
    // The first connection in the cluster's chatter, once.
    await eventually(async () => messagesOn(target.odooId).includes("Connected, operator v1.4.2"));

    const odooId = await odoo().create(APPS, {
      name: "vault",
      namespace: NAMESPACE,
      catalog_entry: "vaultwarden",
      hostname: "vault.example.com",
      values: '{"replicas": 1}',
      cluster_id: target.odooId,
    });
    await run("pull-applications");
    const requested = appRecord(odooId);
    expect(requested?.instance_id).toMatch(/^[0-9a-f-]{36}$/);
    const app = await harness.deps.db.application.findUniqueOrThrow({
      where: { id: requested?.instance_id as string },
    });
    expect(app).toMatchObject({
      clusterId: target.cluster.id,
      namespace: NAMESPACE,
      name: "vault",
      catalogId: "vaultwarden",
      hostname: "vault.example.com",
      values: { replicas: 1 },
      odooRecordId: odooId,
      state: "requested",
    });
    expect(requested).toMatchObject({ state: "requested", last_job_id: app.lastJobId, url: false });

    await operatorDeploys(target, "vault", app.lastJobId as string);
    const deployed = await eventually(async () =>
      appRecord(odooId)?.state === "deployed" ? appRecord(odooId) : undefined,
    );
    expect(deployed).toMatchObject({
      url: "https://vault.example.com",
      ready_since: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      chart_version: "0.32.0", // the catalog's, as changed by the test above
      name: "vault",
    });
    await eventually(idle);
    const ready = messagesOn(target.odooId).filter((body) => body.includes("org-hub/vault is ready"));
    expect(ready).toEqual(["Application org-hub/vault is ready: https://vault.example.com"]);
    expect(messagesOn(target.odooId).filter((body) => body.startsWith("Connected"))).toHaveLength(1);

    // Odoo's own write of a runtime field is ignored: no new generation, no job.
    await odoo().write(APPS, [odooId], { state: "failed", url: "https://elsewhere.example.com" });
    await run("pull-applications");
    expect((await harness.deps.db.application.findUniqueOrThrow({ where: { id: app.id } })).generation).toBe(
      app.generation,
    );
  });

  it("refuses a Deploy app request the cluster's allow-list forbids, with the reason, and makes no job", async () => {
    const target = await hubCluster("Hub strict");
    const jobsBefore = await harness.deps.db.job.count({ where: { clusterId: target.cluster.id } });
    const odooId = await odoo().create(APPS, {
      name: "sneaky",
      namespace: "kube-system",
      catalog_entry: "vaultwarden",
      cluster_id: target.odooId,
    });
    await run("pull-applications");
    const refused = appRecord(odooId);
    expect(refused).toMatchObject({ state: "refused", instance_id: false });
    expect(String(refused?.state_reason)).toContain("kube-system");
    expect(String(refused?.sync_error)).toContain("kube-system");
    expect(await harness.deps.db.job.count({ where: { clusterId: target.cluster.id } })).toBe(jobsBefore);
    expect(
      await harness.deps.db.application.count({ where: { clusterId: target.cluster.id, name: "sneaky" } }),
    ).toBe(0);
    const status = await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) });
    expect(status.json().recordErrors).toEqual(
      expect.arrayContaining([expect.objectContaining({ direction: "pull", model: APPS, odooId })]),
    );
    // A record for a cluster the control plane does not know is refused the same way.
    const orphanCluster = await odoo().create(CLUSTERS, { name: "Not here yet", cluster_id: "not-a-uuid" });
    const orphan = await odoo().create(APPS, {
      name: "orphan",
      namespace: NAMESPACE,
      catalog_entry: "vaultwarden",
      cluster_id: orphanCluster,
    });
    await run("pull-applications");
    expect(appRecord(orphan)).toMatchObject({ state: "refused" });
  });

  it("redeploys on a hostname change and deletes on archive", async () => {
    const target = await hubCluster("Hub changes");
    const odooId = await odoo().create(APPS, {
      name: "wiki",
      namespace: NAMESPACE,
      catalog_entry: "vaultwarden",
      hostname: "wiki.example.com",
      cluster_id: target.odooId,
    });
    await run("pull-applications");
    const instanceId = appRecord(odooId)?.instance_id as string;
    const first = await harness.deps.db.application.findUniqueOrThrow({ where: { id: instanceId } });
    await operatorDeploys(target, "wiki", first.lastJobId as string);
    await eventually(async () => appRecord(odooId)?.url === "https://wiki.example.com");

    await odoo().write(APPS, [odooId], { hostname: "docs.example.com" });
    await run("pull-applications");
    const second = await harness.deps.db.application.findUniqueOrThrow({ where: { id: instanceId } });
    expect(second).toMatchObject({
      generation: first.generation + 1,
      hostname: "docs.example.com",
      state: "requested",
    });
    expect(second.lastJobId).not.toBe(first.lastJobId);
    await eventually(async () => appRecord(odooId)?.last_job_id === second.lastJobId);
    expect(appRecord(odooId)).toMatchObject({ state: "requested", url: false });
    await operatorDeploys(target, "wiki", second.lastJobId as string, 2);
    await eventually(async () => appRecord(odooId)?.url === "https://docs.example.com");

    await odoo().write(APPS, [odooId], { active: false });
    await run("pull-applications");
    const deleting = await harness.deps.db.application.findUniqueOrThrow({ where: { id: instanceId } });
    expect(deleting.state).toBe("deleting");
    const deleteJob = await harness.deps.db.job.findUniqueOrThrow({
      where: { id: deleting.lastJobId as string },
    });
    expect((deleteJob.request as { intent: string }).intent).toMatch(/delete/i);
    await eventually(async () => appRecord(odooId)?.state === "deleting");
  });

  it("creates the Odoo record of an application deployed through the admin API, and tells a failure in the chatter", async () => {
    const target = await hubCluster("Hub API");
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${target.cluster.id}/applications`,
      headers: adminHeaders(key),
      payload: {
        catalogId: "vaultwarden",
        namespace: NAMESPACE,
        name: "from-api",
        hostname: "api.example.com",
      },
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    const app = await harness.deps.db.application.findFirstOrThrow({
      where: { clusterId: target.cluster.id, name: "from-api" },
    });
    const record = await eventually(async () => fake.records(APPS).find((row) => row.instance_id === app.id));
    expect(record).toMatchObject({
      name: "from-api",
      namespace: NAMESPACE,
      catalog_entry: "vaultwarden",
      hostname: "api.example.com",
      cluster_id: target.odooId,
      state: "requested",
      last_job_id: app.lastJobId,
    });
    // The many2one reads back as [id, name] over the API.
    const [read] = await odoo().read(APPS, [record.id as number], { fields: ["cluster_id"] });
    expect(read?.cluster_id).toEqual([target.odooId, "Hub API"]);
    // Taking the record back changes nothing (its content is ours).
    await run("pull-applications");
    expect((await harness.deps.db.application.findUniqueOrThrow({ where: { id: app.id } })).generation).toBe(
      app.generation,
    );

    const jobId = app.lastJobId as string;
    await eventually(async () =>
      (await poll(harness, target.cluster.id, target.credential)).some((job) => job.id === jobId),
    );
    expect((await ack(harness, jobId, target.credential)).statusCode).toBe(204);
    const failed = await postResult(harness, jobId, target.credential, {
      outcome: "failed",
      error: "admission webhook denied",
      timestamp: new Date().toISOString(),
    });
    expect(failed.statusCode, failed.body).toBe(204);
    await eventually(
      async () => fake.records(APPS).find((row) => row.instance_id === app.id)?.state === "failed",
    );
    await eventually(idle);
    const failures = messagesOn(target.odooId).filter((body) => body.includes("from-api failed"));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain("admission webhook denied");
  });

  it("posts disconnection and reconnection once each, never per heartbeat", async () => {
    const target = await hubCluster("Hub flaky");
    await eventually(async () => messagesOn(target.odooId).length === 1);
    await harness.deps.db.cluster.update({
      where: { id: target.cluster.id },
      data: { lastSeenAt: new Date(Date.now() - 3_600_000) },
    });
    await worker.deps.health.markSilentClustersDisconnected();
    await worker.deps.health.markSilentClustersDisconnected();
    await eventually(async () => messagesOn(target.odooId).some((body) => body.startsWith("Disconnected")));
    for (let beat = 0; beat < 3; beat += 1) {
      await postEvents(harness, target.credential, [
        {
          kind: "ClusterHeartbeat",
          resourceRef: {
            apiVersion: "ops.vworkspace.io/v1alpha1",
            kind: "Cluster",
            namespace: "",
            name: target.cluster.id,
          },
          timestamp: new Date().toISOString(),
          cluster: { operatorVersion: "1.4.2" },
        },
      ]);
      await harness.deps.heartbeats.flush();
    }
    await eventually(async () => messagesOn(target.odooId).includes("Reconnected"));
    await eventually(idle);
    const messages = messagesOn(target.odooId);
    expect(messages.filter((body) => body === "Reconnected")).toHaveLength(1);
    expect(messages.filter((body) => body.startsWith("Disconnected"))).toHaveLength(1);
    expect(messages).toHaveLength(3);
  });

  it("reads its domain events from the outbox: a change committed without its notification is pushed, a rolled-back one sends nothing", async () => {
    const target = await hubCluster("Hub outbox");
    await eventually(idle);
    const eventsBefore = await harness.deps.db.outboxEvent.count();
    // A change that rolls back leaves no event behind.
    await expect(
      harness.deps.db.$transaction(async (tx) => {
        await harness.deps.applications.request(
          tx,
          {
            clusterId: target.cluster.id,
            namespace: NAMESPACE,
            name: "rolled-back",
            catalogId: "vaultwarden",
          },
          "deploy",
          async () => ({ id: "j-rolled-back" }),
        );
        throw new Error("the caller failed after the change");
      }),
    ).rejects.toThrow(/caller failed/);
    expect(await harness.deps.db.outboxEvent.count()).toBe(eventsBefore);
    expect(await harness.deps.db.application.count({ where: { name: "rolled-back" } })).toBe(0);

    // A change whose process died before telling anyone (no enqueue): the drain still finds it.
    await harness.deps.db.$transaction((tx) =>
      harness.deps.applications.request(
        tx,
        { clusterId: target.cluster.id, namespace: NAMESPACE, name: "unannounced", catalogId: "vaultwarden" },
        "deploy",
        async () => ({ id: "j-unannounced" }),
      ),
    );
    const app = await harness.deps.db.application.findFirstOrThrow({ where: { name: "unannounced" } });
    expect(
      await harness.deps.db.outboxEvent.count({ where: { applicationId: app.id, odooDoneAt: null } }),
    ).toBe(1);
    expect(fake.records(APPS).some((row) => row.instance_id === app.id)).toBe(false);
    await worker.processors["odoo-sync"]?.["drain-outbox"]?.({}, undefined as never);
    // A drain queued by an earlier commit may hold the event (SKIP LOCKED) while this one finds none.
    await eventually(async () => fake.records(APPS).some((row) => row.instance_id === app.id));
    expect(fake.records(APPS).find((row) => row.instance_id === app.id)).toMatchObject({
      name: "unannounced",
      state: "requested",
      last_job_id: "j-unannounced",
    });
    expect(
      await harness.deps.db.outboxEvent.count({ where: { applicationId: app.id, odooDoneAt: null } }),
    ).toBe(0);
  });

  it("takes a Deploy app request at once from Odoo's webhook on the application model", async () => {
    const target = await hubCluster("Hub webhook");
    const odooId = await odoo().create(APPS, {
      name: "hooked",
      namespace: NAMESPACE,
      catalog_entry: "vaultwarden",
      cluster_id: target.odooId,
    });
    const accepted = await harness.app.inject({
      method: "POST",
      url: "/api/v1/odoo/webhook?secret=webhook-secret-for-tests",
      payload: { _model: APPS, _id: odooId },
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    await eventually(async () => appRecord(odooId)?.state === "requested", 15_000);
    const other = await harness.app.inject({
      method: "POST",
      url: "/api/v1/odoo/webhook?secret=webhook-secret-for-tests",
      payload: { _model: "res.partner", _id: 1 },
    });
    expect(other.statusCode).toBe(400);
  });

  it("loses nothing through an Odoo outage: the outbox waits, the pushes back off and catch up", async () => {
    const target = await hubCluster("Hub outage");
    await eventually(idle);
    fake.failNext(4, { type: "status", status: 503 });
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${target.cluster.id}/applications`,
      headers: adminHeaders(key),
      payload: { catalogId: "vaultwarden", namespace: NAMESPACE, name: "through-outage" },
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    const app = await harness.deps.db.application.findFirstOrThrow({
      where: { clusterId: target.cluster.id, name: "through-outage" },
    });
    await eventually(async () => fake.records(APPS).some((row) => row.instance_id === app.id), 15_000);
    await eventually(idle, 15_000);
    const status = await eventually(async () => {
      const answer = (
        await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) })
      ).json();
      return answer.lastError === null ? answer : undefined;
    }, 10_000);
    expect(status.pendingEvents).toBe(0);
    expect(status.models).toEqual(
      expect.arrayContaining([expect.objectContaining({ model: APPS, lastError: null })]),
    );
    expect(logs.text()).not.toContain(DEFAULT_FAKE_API_KEY);
  });
});

describe("Odoo chatter turned off (ODOO_CHATTER=false)", () => {
  let fake: FakeOdoo;
  let env: TestEnv;
  let harness: Awaited<ReturnType<typeof createTestApp>>;
  let worker: ReturnType<typeof createTestWorker>;

  beforeAll(async () => {
    fake = await startFakeOdoo({ version: 19 });
    env = await createTestEnv();
    const odooConfig = {
      ODOO_URL: fake.url,
      ODOO_DB: fake.db,
      ODOO_LOGIN: "admin",
      ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
      ODOO_SYNC_INTERVAL_SECONDS: "3600",
      ODOO_CHATTER: "false",
    };
    harness = await createTestApp({ env, configOverrides: odooConfig });
    worker = createTestWorker({ env, configOverrides: odooConfig, odooBackoffBaseMs: 50 });
  });

  afterAll(async () => {
    await worker?.close();
    await harness?.close();
    await env?.close();
    await fake?.close();
  });

  it("pushes as usual and posts nothing", async () => {
    const key = await adminKey(harness);
    const { cluster } = await registeredCluster(harness, key, { displayName: "Silent" });
    await eventually(async () => fake.records(CLUSTERS).some((row) => row.cluster_id === cluster.id));
    await harness.deps.db.outboxEvent.updateMany({ data: { createdAt: new Date(Date.now() - 3_600_000) } });
    await worker.processors["odoo-sync"]?.["drain-outbox"]?.({}, undefined as never);
    // A drain the commit queued may hold the events (SKIP LOCKED) while this one finds none.
    await eventually(
      async () => (await harness.deps.db.outboxEvent.count({ where: { odooDoneAt: null } })) === 0,
    );
    expect(fake.records("mail.message")).toEqual([]);
  });
});

describe("an Odoo without Workspace Hub's application and catalog models", () => {
  let fake: FakeOdoo;
  let env: TestEnv;
  let harness: Awaited<ReturnType<typeof createTestApp>>;
  let worker: ReturnType<typeof createTestWorker>;

  beforeAll(async () => {
    fake = await startFakeOdoo({ version: 17, omitModels: [APPS, CATALOG] });
    env = await createTestEnv();
    const odooConfig = {
      ODOO_URL: fake.url,
      ODOO_DB: fake.db,
      ODOO_LOGIN: "admin",
      ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
      ODOO_SYNC_INTERVAL_SECONDS: "3600",
    };
    harness = await createTestApp({ env, configOverrides: odooConfig });
    worker = createTestWorker({ env, configOverrides: odooConfig, odooBackoffBaseMs: 50 });
  });

  afterAll(async () => {
    await worker?.close();
    await harness?.close();
    await env?.close();
    await fake?.close();
  });

  it("keeps the cluster sync and its chatter, and reports the application model's error on that model only", async () => {
    const key = await adminKey(harness);
    const { cluster } = await registeredCluster(harness, key, { displayName: "Clusters only" });
    const record = await eventually(async () =>
      fake.records(CLUSTERS).find((row) => row.cluster_id === cluster.id),
    );
    // The push records the Odoo id a moment after Odoo has the record: the chatter needs it.
    await eventually(
      async () =>
        (await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).odooRecordId ===
        record.id,
    );
    await expect(
      worker.processors["odoo-sync"]?.["pull-applications"]?.({}, undefined as never),
    ).rejects.toThrow();
    await harness.deps.db.outboxEvent.updateMany({ data: { createdAt: new Date(Date.now() - 3_600_000) } });
    await worker.processors["odoo-sync"]?.["drain-outbox"]?.({}, undefined as never);
    // A drain the commit queued may hold the events (SKIP LOCKED) while this one finds none.
    await eventually(
      async () => fake.records("mail.message").some((row) => row.res_id === record.id),
      15_000,
    );
    expect(fake.records("mail.message").filter((row) => row.res_id === record.id)).toHaveLength(1);
    const status = (
      await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) })
    ).json();
    expect(status.lastError).toBeNull();
    expect(status.models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ model: APPS, lastError: expect.stringContaining(APPS) }),
      ]),
    );
  });
});
