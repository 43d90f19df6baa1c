import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createCluster, eventually, registeredCluster } from "../../../test/support/fixtures.ts";
import { MODEL, ODOO_SETUPS, type OdooBridge, startOdooBridge } from "../../../test/support/odoo-bridge.ts";

// Issue 19, point 3: a record deleted in Odoo is never recreated; the cluster is disabled (its
// agent gets 403), marked removed and audited. Archiving disables, unarchiving re-enables.

describe.each(ODOO_SETUPS)("Odoo $version ($protocol): deleted and archived records", ({ version }) => {
  let bridge: OdooBridge;
  beforeAll(async () => {
    bridge = await startOdooBridge({ version });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const pollStatus = async (clusterId: string, credential: string) =>
    (
      await bridge.harness.app.inject({
        url: `/api/agent/jobs?cluster=${clusterId}&wait=0`,
        headers: agentHeaders(credential, false),
      })
    ).statusCode;
  const clusterRow = (id: string) => bridge.db.cluster.findUniqueOrThrow({ where: { id } });

  async function linkedCluster(displayName: string) {
    const registered = await registeredCluster(bridge.harness, bridge.key, { displayName });
    const record = await eventually(async () =>
      bridge.record(registered.cluster.id)?.state === "connected"
        ? bridge.record(registered.cluster.id)
        : undefined,
    );
    await eventually(bridge.idle);
    return { ...registered, recordId: record.id };
  }

  it("keeps a record deleted in Odoo deleted: the cluster is disabled, audited and never pushed again", async () => {
    const { cluster, credential, recordId } = await linkedCluster("Deleted in Odoo");
    // On 17 a write to the deleted record answers `true`: the push must not believe it.
    await bridge.fake.delete(MODEL, [recordId]);
    await bridge.harness.deps.notifier.clusterChanged(cluster.id); // e.g. a heartbeat's push
    const removed = await eventually(async () => {
      const row = await clusterRow(cluster.id);
      return row.odooRemovedAt ? row : undefined;
    });
    expect(removed.status).toBe("disabled");
    expect(await pollStatus(cluster.id, credential)).toBe(403);
    const audit = await bridge.db.auditEntry.findMany({
      where: { clusterId: cluster.id },
      orderBy: { id: "asc" },
    });
    expect(audit.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(["ClusterRemovedInOdoo", "ClusterDisabled"]),
    );
    expect(audit.find((entry) => entry.kind === "ClusterDisabled")?.data).toMatchObject({
      reason: `its Odoo record ${recordId} was deleted`,
    });

    // Pushes, pulls and the reconciliation: nothing recreates it.
    await bridge.harness.deps.notifier.clusterChanged(cluster.id);
    await eventually(bridge.idle);
    await bridge.pull();
    await bridge.reconcile();
    expect(bridge.record(cluster.id)).toBeUndefined();
    expect(bridge.fake.records(MODEL).filter((row) => row.name === "Deleted in Odoo")).toEqual([]);
  });

  it("links a removed cluster again when an Odoo user creates a record with its cluster_id", async () => {
    const { cluster, credential, recordId } = await linkedCluster("Deleted, then recreated in Odoo");
    await bridge.fake.delete(MODEL, [recordId]);
    await bridge.reconcile();
    expect(await clusterRow(cluster.id)).toMatchObject({
      status: "disabled",
      odooRemovedAt: expect.any(Date),
    });
    const [again] = bridge.fake.seed(MODEL, [
      { name: "Deleted, then recreated in Odoo", cluster_id: cluster.id },
    ]);
    await bridge.pull();
    expect(await clusterRow(cluster.id)).toMatchObject({
      status: "disconnected",
      odooRemovedAt: null,
      odooDisabledAt: null,
      odooRecordId: again,
    });
    expect(await pollStatus(cluster.id, credential)).toBe(200);
  });

  it("notices a deletion from the webhook's read of the record, and from the reconciliation", async () => {
    const first = await linkedCluster("Deleted, webhook");
    const second = await linkedCluster("Deleted, reconcile");
    await bridge.fake.delete(MODEL, [first.recordId, second.recordId]);
    await bridge.pullRecord(first.recordId);
    expect((await clusterRow(first.cluster.id)).odooRemovedAt).not.toBeNull();
    expect((await clusterRow(second.cluster.id)).odooRemovedAt).toBeNull();
    await bridge.reconcile();
    expect(await clusterRow(second.cluster.id)).toMatchObject({
      status: "disabled",
      odooRemovedAt: expect.any(Date),
    });
    expect(bridge.record(second.cluster.id)).toBeUndefined();
  });

  it("takes a deletion from Odoo's webhook alone, whether it comes before (17) or after (19) the commit", async () => {
    const { cluster } = await linkedCluster("Deleted, on-deletion webhook");
    const recordId = (await clusterRow(cluster.id)).odooRecordId as number;
    bridge.fake.addAutomation({ model: MODEL, url: await bridge.webhookUrl(), trigger: "on_unlink" });
    await bridge.fake.delete(MODEL, [recordId]);
    const removed = await eventually(async () => (await clusterRow(cluster.id)).odooRemovedAt, 5_000);
    expect(removed).toBeInstanceOf(Date);
    expect(bridge.record(cluster.id)).toBeUndefined();
  });

  it("disables an archived record's cluster and enables it again when unarchived", async () => {
    const { cluster, credential, recordId } = await linkedCluster("Archived");
    await bridge.fake.edit(MODEL, recordId, { active: false });
    await bridge.pull();
    expect(await clusterRow(cluster.id)).toMatchObject({
      status: "disabled",
      odooDisabledAt: expect.any(Date),
    });
    expect(await pollStatus(cluster.id, credential)).toBe(403);
    // The archived record is not a deleted one: it still gets our runtime state.
    await eventually(async () => bridge.record(cluster.id)?.state === "disabled");

    await bridge.fake.edit(MODEL, recordId, { active: true });
    await bridge.pull();
    expect(await clusterRow(cluster.id)).toMatchObject({ status: "disconnected", odooDisabledAt: null });
    expect(await pollStatus(cluster.id, credential)).toBe(200);
    const kinds = (await bridge.db.auditEntry.findMany({ where: { clusterId: cluster.id } })).map(
      (e) => e.kind,
    );
    expect(kinds).toEqual(expect.arrayContaining(["ClusterDisabled", "ClusterEnabled"]));
  });

  it("leaves a cluster an admin disabled alone when its record is archived and unarchived", async () => {
    const cluster = await createCluster(bridge.harness, bridge.key, { displayName: "Disabled by an admin" });
    const record = await eventually(async () => bridge.record(cluster.id));
    const disabled = await bridge.harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(bridge.key),
    });
    expect(disabled.statusCode).toBe(200);
    await bridge.fake.edit(MODEL, record.id, { active: false });
    await bridge.pull();
    await bridge.fake.edit(MODEL, record.id, { active: true });
    await bridge.pull();
    expect(await clusterRow(cluster.id)).toMatchObject({ status: "disabled", odooDisabledAt: null });
  });
});
