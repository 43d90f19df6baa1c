import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCluster, eventually } from "../../../test/support/fixtures.ts";
import { MODEL, ODOO_SETUPS, type OdooBridge, startOdooBridge } from "../../../test/support/odoo-bridge.ts";

// Issue 19, points 1 and 2: Odoo dates a save by its transaction's start, in whole seconds, and
// Odoo 17 posts its webhook before the save commits. Nothing may be lost either way.

const CONFIG_FIELDS = ["name", "slug", "connectivity_mode", "allowed_namespaces", "active"];

describe.each(ODOO_SETUPS)("Odoo $version ($protocol): late commits", ({ version }) => {
  let bridge: OdooBridge;
  let odooNow = new Date("2026-12-01T09:00:00.000Z");
  let late: { id: string; recordId: number };
  let other: { id: string; recordId: number };

  const at = (iso: string) => {
    odooNow = new Date(iso);
  };
  const namespacesOf = async (id: string) =>
    (await bridge.db.cluster.findUniqueOrThrow({ where: { id } })).allowedNamespaces;

  async function syncedCluster(displayName: string) {
    const cluster = await createCluster(bridge.harness, bridge.key, { displayName });
    const record = await eventually(async () => bridge.record(cluster.id));
    return { id: cluster.id, recordId: record.id };
  }

  beforeAll(async () => {
    bridge = await startOdooBridge({ version, fake: { clock: () => odooNow } });
    late = await syncedCluster("Late");
    other = await syncedCluster("Other");
    await eventually(bridge.idle);
    await bridge.pull();
  });
  afterAll(async () => {
    await bridge?.close();
  });

  it("pulls a save that committed after a pull had moved past its write_date, and applies it once", async () => {
    at("2026-12-01T10:00:00.500Z");
    const save = bridge.fake.beginTransaction(); // an Odoo user's slow save starts
    await save.write(MODEL, [late.recordId], { allowed_namespaces: "org-late" });
    at("2026-12-01T10:00:02.100Z");
    await bridge.fake.edit(MODEL, other.recordId, { name: "Other, renamed" });
    await bridge.pull(); // sees the quick edit: the cursor is now 10:00:02
    expect((await bridge.db.cluster.findUniqueOrThrow({ where: { id: other.id } })).displayName).toBe(
      "Other, renamed",
    );
    await save.commit(); // write_date 10:00:00, older than the cursor
    expect(bridge.fake.records(MODEL).find((row) => row.id === late.recordId)?.write_date).toBe(
      "2026-12-01 10:00:00",
    );

    await bridge.pull();
    expect(await namespacesOf(late.id)).toEqual(["org-late"]);
    const updates = () =>
      bridge.db.auditEntry.count({ where: { kind: "ClusterUpdated", clusterId: late.id } });
    const applied = await updates();
    // Read again in the overlap window, and passed by: the same content is not applied twice.
    expect(await bridge.pull()).toMatchObject({ updated: 0, unchanged: 0, seen: 2 });
    await bridge.pull();
    expect(await updates()).toBe(applied);
    const status = await bridge.status();
    expect(status.models).toEqual([
      expect.objectContaining({
        model: MODEL,
        cursor: "2026-12-01 10:00:02",
        lastPullAt: expect.any(String),
      }),
    ]);
  });

  it("catches a save that stayed open longer than the overlap window at the next reconciliation", async () => {
    at("2026-12-01T11:00:00.000Z");
    const save = bridge.fake.beginTransaction();
    await save.write(MODEL, [late.recordId], { allowed_namespaces: "org-very-late" });
    at("2026-12-01T11:10:00.000Z"); // ten minutes later; the overlap is five
    await bridge.fake.edit(MODEL, other.recordId, { name: "Other, again" });
    await bridge.pull();
    await save.commit();
    await bridge.pull();
    expect(await namespacesOf(late.id)).toEqual(["org-late"]);

    await bridge.reconcile();
    expect(await namespacesOf(late.id)).toEqual(["org-very-late"]);
  });

  it("reads a record again shortly after its webhook, so a webhook posted before the commit loses nothing", async () => {
    bridge.fake.addAutomation({ model: MODEL, url: await bridge.webhookUrl(), triggerFields: CONFIG_FIELDS });
    const save = bridge.fake.beginTransaction();
    await save.write(MODEL, [late.recordId], { allowed_namespaces: "org-hooked" });
    // Odoo 17 has posted already, while nobody can read the change; Odoo 19 posts at the commit.
    expect(bridge.fake.webhookDeliveries.length).toBe(version === 17 ? 1 : 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await namespacesOf(late.id)).toEqual(["org-very-late"]);
    await save.commit();
    expect(bridge.fake.webhookDeliveries.map((delivery) => delivery.outcome)).toEqual([202]);

    // No pull: the webhook's reads alone bring the change.
    await eventually(async () => (await namespacesOf(late.id)).includes("org-hooked"), 5_000);
  });
});
