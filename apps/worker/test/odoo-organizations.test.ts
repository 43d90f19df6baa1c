import { createOdooClient } from "@vwksp/odoo";
import { clusterModel, DEFAULT_FAKE_API_KEY } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createCluster, eventually } from "../../../test/support/fixtures.ts";
import { MODEL, ODOO_SETUPS, type OdooBridge, startOdooBridge } from "../../../test/support/odoo-bridge.ts";

// Issue 18 §4: an Odoo company maps to an organization. The Cluster Registry carries the
// organization's slug in the field ODOO_ORGANIZATION_FIELD names (in Odoo, typically a related
// field of the record's company).

const ORGANIZATION_FIELD = "organization_slug";

describe.each(ODOO_SETUPS)("Odoo $version ($protocol): organizations", ({ version }) => {
  let bridge: OdooBridge;
  let acmeKey: string;
  beforeAll(async () => {
    bridge = await startOdooBridge({
      version,
      fake: {
        models: [
          clusterModel({ extraFields: { [ORGANIZATION_FIELD]: { type: "char", string: "Organization" } } }),
        ],
      },
      config: { ODOO_ORGANIZATION_FIELD: ORGANIZATION_FIELD },
    });
    const acme = await bridge.db.organization.create({ data: { slug: "acme", name: "Acme" } });
    acmeKey = (
      await bridge.harness.deps.apiKeys.create({ organizationId: acme.id, name: "acme admin", scopes: ["*"] })
    ).key;
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const odoo = () =>
    createOdooClient({
      url: bridge.fake.url,
      db: bridge.fake.db,
      login: "admin",
      apiKey: DEFAULT_FAKE_API_KEY,
    });
  const listedNames = async (key: string) =>
    (await bridge.harness.app.inject({ url: "/api/v1/clusters", headers: adminHeaders(key) }))
      .json()
      .items.map((item: { displayName: string }) => item.displayName);
  const refusal = async (odooId: number) =>
    (await bridge.db.odooRecordState.findUnique({ where: { model_odooId: { model: MODEL, odooId } } }))
      ?.error;

  it("creates a record's cluster in the organization whose slug it carries", async () => {
    const odooId = await odoo().create(MODEL, { name: "Acme cluster", [ORGANIZATION_FIELD]: "acme" });
    await bridge.pull();
    const cluster = await bridge.db.cluster.findFirstOrThrow({ where: { odooRecordId: odooId } });
    expect(
      (await bridge.db.organization.findUniqueOrThrow({ where: { id: cluster.organizationId } })).slug,
    ).toBe("acme");
    expect(await listedNames(acmeKey)).toContain("Acme cluster");
    expect(await listedNames(bridge.key)).not.toContain("Acme cluster");
  });

  it("refuses a record naming an organization that does not exist, and takes it once it does", async () => {
    const odooId = await odoo().create(MODEL, { name: "Globex cluster", [ORGANIZATION_FIELD]: "globex" });
    const empty = await odoo().create(MODEL, { name: "Nobody's cluster" });
    await bridge.pull();
    expect(await refusal(odooId)).toBe(
      `record ${odooId}: ${ORGANIZATION_FIELD} names organization "globex", which does not exist here (POST /api/v1/organizations)`,
    );
    expect(await refusal(empty)).toBe(
      `record ${empty}: ${ORGANIZATION_FIELD} is empty (the organization's slug)`,
    );
    const globex = await bridge.db.organization.create({ data: { slug: "globex", name: "Globex" } });
    await bridge.pull(); // the record did not change: not tried again
    expect(await bridge.db.cluster.count({ where: { odooRecordId: odooId } })).toBe(0);
    await bridge.reconcile(); // the full comparison tries refused records again
    const cluster = await bridge.db.cluster.findFirstOrThrow({ where: { odooRecordId: odooId } });
    expect(cluster.organizationId).toBe(globex.id);
    expect(await refusal(odooId)).toBeNull();
  });

  it("does not move a cluster to another organization", async () => {
    const cluster = await bridge.db.cluster.findFirstOrThrow({ where: { displayName: "Acme cluster" } });
    await bridge.fake.edit(MODEL, cluster.odooRecordId as number, { [ORGANIZATION_FIELD]: "globex" });
    await bridge.pull();
    expect(await refusal(cluster.odooRecordId as number)).toContain(
      `names organization "globex", but the cluster belongs to "acme"; moving a cluster to another organization is not supported`,
    );
    expect((await bridge.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).organizationId).toBe(
      cluster.organizationId,
    );
  });

  it("leaves a cluster created through the API in its organization; Odoo sets the company later", async () => {
    const created = await createCluster(bridge.harness, acmeKey, { displayName: "Made here" });
    const record = await eventually(async () => bridge.record(created.id));
    expect(record[ORGANIZATION_FIELD]).toBe(false);
    await bridge.pull();
    expect(await refusal(record.id)).toBeNull();
    await bridge.fake.edit(MODEL, record.id, { [ORGANIZATION_FIELD]: "acme" });
    await bridge.pull();
    expect(await refusal(record.id)).toBeNull();
    expect(await listedNames(acmeKey)).toContain("Made here");
  });
});
