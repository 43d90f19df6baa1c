import { createOdooClient } from "@vwksp/odoo";
import { clusterModel, DEFAULT_FAKE_API_KEY, type FakeField } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createCluster, eventually } from "../../../test/support/fixtures.ts";
import { MODEL, ODOO_SETUPS, type OdooBridge, startOdooBridge } from "../../../test/support/odoo-bridge.ts";

// Issue 19, points 4, 8 and 9: what Odoo refused is kept per record until it syncs, shown in the
// status and on the record, and redone by a reconciliation once Odoo accepts it again; a record
// refused here is recorded once and not retried until it changes.

const WRONG_KEY = "a-key-odoo-no-longer-accepts-000000000000";
const CONFIG_FIELDS = ["name", "slug", "connectivity_mode", "allowed_namespaces", "active"];
/** An Odoo module whose `state` selection lacks a key the service writes. */
const fullState = clusterModel().fields.state as FakeField;
const STATE_WITHOUT_DISABLED: FakeField = {
  ...fullState,
  selection: fullState.selection?.filter(([key]) => key !== "disabled"),
};

describe.each(ODOO_SETUPS)("Odoo $version ($protocol): errors and recovery", ({ version }) => {
  let bridge: OdooBridge;
  beforeAll(async () => {
    bridge = await startOdooBridge({ version });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const clusterRow = (id: string) => bridge.db.cluster.findUniqueOrThrow({ where: { id } });
  const listed = async (match: (error: { clusterId: string | null; odooId: number | null }) => boolean) =>
    ((await bridge.status()).recordErrors as { clusterId: string | null; odooId: number | null }[]).find(
      match,
    );

  async function createdWhileKeyIsWrong(displayName: string) {
    bridge.fake.setApiKey(2, WRONG_KEY);
    const cluster = await createCluster(bridge.harness, bridge.key, { displayName });
    const error = await eventually(async () => (await clusterRow(cluster.id)).odooSyncError);
    expect(error).toMatch(/Access Denied|Invalid apikey/);
    await eventually(bridge.idle);
    expect(bridge.record(cluster.id)).toBeUndefined();
    const failed = await bridge.worker.deps.queues.queue("odoo-sync").getFailed();
    expect(failed.filter((job) => job.data.clusterId === cluster.id).map((job) => job.attemptsMade)).toEqual([
      1,
    ]);
    return cluster;
  }

  it("pushes a cluster refused while the API key was wrong within one reconciliation after the fix", async () => {
    const cluster = await createdWhileKeyIsWrong("Created during the wrong key");
    const status = await bridge.status();
    expect(status.lastError).toContain(`push cluster ${cluster.id}`);
    expect(await listed((error) => error.clusterId === cluster.id)).toMatchObject({ direction: "push" });

    bridge.fake.setApiKey(2, DEFAULT_FAKE_API_KEY);
    await bridge.reconcile();
    expect(bridge.record(cluster.id)).toMatchObject({
      name: "Created during the wrong key",
      state: "pending",
    });
    expect(await clusterRow(cluster.id)).toMatchObject({ odooSyncError: null });
    expect(await listed((error) => error.clusterId === cluster.id)).toBeUndefined();
    expect((await bridge.status()).lastError).toBeNull();
  });

  it("starts that reconciliation by itself when the next job works again", async () => {
    const cluster = await createdWhileKeyIsWrong("Recovered by itself");
    bridge.fake.setApiKey(2, DEFAULT_FAKE_API_KEY);
    await bridge.pull(); // the periodic pull is the first to notice
    const record = await eventually(async () => bridge.record(cluster.id), 10_000);
    expect(record).toMatchObject({ name: "Recovered by itself" });
    expect(bridge.logs.text()).toContain("odoo bridge works again after an access error: reconciling");
  });

  it("keeps a value Odoo refuses on the cluster and on the record, without retrying, until it syncs", async () => {
    const cluster = await createCluster(bridge.harness, bridge.key, { displayName: "Refused value" });
    await eventually(async () => bridge.record(cluster.id));
    await eventually(bridge.idle);
    bridge.fake.registerModel(clusterModel({ extraFields: { state: STATE_WITHOUT_DISABLED } }));
    const disabled = await bridge.harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(bridge.key),
    });
    expect(disabled.statusCode).toBe(200);
    // A ValueError: JSON-RPC's error envelope, JSON-2's HTTP 500; neither is retried.
    const error = await eventually(async () => (await clusterRow(cluster.id)).odooSyncError);
    expect(error).toContain("Wrong value for vws.cluster.state: 'disabled'");
    await eventually(bridge.idle);
    const failed = await bridge.worker.deps.queues.queue("odoo-sync").getFailed();
    expect(failed.filter((job) => job.data.clusterId === cluster.id).map((job) => job.attemptsMade)).toEqual([
      1,
    ]);
    expect(bridge.record(cluster.id)?.sync_error).toContain("Wrong value for vws.cluster.state");
    expect(await listed((entry) => entry.clusterId === cluster.id)).toMatchObject({ direction: "push" });

    bridge.fake.registerModel(clusterModel()); // the Odoo module is fixed
    await bridge.reconcile();
    expect(bridge.record(cluster.id)).toMatchObject({ state: "disabled", sync_error: false });
    expect(await clusterRow(cluster.id)).toMatchObject({ odooSyncError: null });
    expect(await listed((entry) => entry.clusterId === cluster.id)).toBeUndefined();
  });

  it("records a record it refuses once, webhook or pull, and takes it as soon as it is fixed", async () => {
    bridge.fake.addAutomation({ model: MODEL, url: await bridge.webhookUrl(), triggerFields: CONFIG_FIELDS });
    const odoo = createOdooClient({
      url: bridge.fake.url,
      db: bridge.fake.db,
      login: "admin",
      apiKey: DEFAULT_FAKE_API_KEY,
    });
    const odooId = await odoo.create(MODEL, {
      name: "Refused record",
      allowed_namespaces: "Not A Namespace!",
    });
    const refused = await eventually(async () => listed((entry) => entry.odooId === odooId));
    expect(refused).toMatchObject({ direction: "pull", model: MODEL, clusterId: null });
    await eventually(bridge.idle);
    const key = { model_odooId: { model: MODEL, odooId } };
    const first = await bridge.db.odooRecordState.findUniqueOrThrow({ where: key });
    expect(first.error).toContain("allowedNamespaces");
    expect(bridge.fake.records(MODEL).find((row) => row.id === odooId)?.sync_error).toBe(first.error);
    // The webhook's jobs ended without an error to retry; pulls leave the refusal as it was.
    const failed = await bridge.worker.deps.queues.queue("odoo-sync").getFailed();
    expect(failed.filter((job) => job.name === "pull-record")).toEqual([]);
    // Not tried again either: the pull sees the same content and passes it by.
    expect(await bridge.pull()).toMatchObject({ rejected: 0, seen: expect.any(Number) });
    await bridge.pull();
    const again = await bridge.db.odooRecordState.findUniqueOrThrow({ where: key });
    expect(again.updatedAt).toEqual(first.updatedAt);
    expect(await bridge.db.cluster.count({ where: { odooRecordId: odooId } })).toBe(0);

    await bridge.fake.edit(MODEL, odooId, { allowed_namespaces: "org-fixed" });
    const cluster = await eventually(async () =>
      bridge.db.cluster.findFirst({ where: { odooRecordId: odooId } }),
    );
    expect(cluster.allowedNamespaces).toEqual(["org-fixed"]);
    await eventually(
      async () => bridge.fake.records(MODEL).find((row) => row.id === odooId)?.sync_error === false,
    );
    expect(await listed((entry) => entry.odooId === odooId)).toBeUndefined();
  });
});
