import { clusterModel } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { eventually, registeredCluster } from "../../../test/support/fixtures.ts";
import { MODEL, ODOO_SETUPS, type OdooBridge, startOdooBridge } from "../../../test/support/odoo-bridge.ts";

// Issue 19, points 5 and 6: Odoo owns the configuration. A field cleared in Odoo is cleared here;
// an admin's change of a field Odoo owns is refused (409 owned_by_odoo) instead of being reverted
// silently by the next pull.

describe.each(ODOO_SETUPS)("Odoo $version ($protocol): who owns what", ({ version }) => {
  let bridge: OdooBridge;
  let cluster: { id: string; slug: string };
  let recordId: number;
  beforeAll(async () => {
    bridge = await startOdooBridge({ version });
    // Registered: deploys are refused to clusters without an agent before any allow-list is read.
    ({ cluster } = await registeredCluster(bridge.harness, bridge.key, { displayName: "Owned by Odoo" }));
    recordId = (await eventually(async () => bridge.record(cluster.id))).id;
    await eventually(bridge.idle);
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const clusterRow = () => bridge.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
  const patch = (payload: Record<string, unknown>) =>
    bridge.harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(bridge.key),
      payload,
    });

  it("empties a list cleared in Odoo, and a deploy then says that no namespace is allowed", async () => {
    await bridge.fake.edit(MODEL, recordId, { allowed_namespaces: false });
    await bridge.pull();
    expect((await clusterRow()).allowedNamespaces).toEqual([]);
    const deploy = await bridge.harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/applications`,
      headers: adminHeaders(bridge.key),
      payload: {
        catalogId: "vaultwarden",
        namespace: "org-demo",
        name: "vault",
        hostname: "vault.demo.example",
      },
    });
    expect(deploy.statusCode).toBe(403);
    expect(deploy.json()).toMatchObject({
      error: "namespace_not_allowed",
      message: expect.stringContaining("the cluster allows no namespace (its allowedNamespaces is empty)"),
    });
    await bridge.fake.edit(MODEL, recordId, { allowed_namespaces: "org-*" });
    await bridge.pull();
    expect((await clusterRow()).allowedNamespaces).toEqual(["org-*"]);
  });

  it("refuses a cleared connectivity mode, and writes its slug back when Odoo's is cleared", async () => {
    await bridge.fake.edit(MODEL, recordId, { connectivity_mode: false, slug: false });
    await bridge.pull();
    expect((await clusterRow()).connectivityMode).toBe("pull");
    const refused = (await bridge.status()).recordErrors.find(
      (error: { odooId: number }) => error.odooId === recordId,
    );
    expect(refused.message).toContain("connectivity_mode is empty");
    await bridge.fake.edit(MODEL, recordId, { connectivity_mode: "gitops" });
    await bridge.pull();
    expect(await clusterRow()).toMatchObject({ connectivityMode: "gitops", slug: cluster.slug });
    expect(bridge.record(cluster.id)?.slug).toBe(cluster.slug);
  });

  it("refuses an admin's change of a setting Odoo owns with 409 owned_by_odoo naming it", async () => {
    const rename = await patch({ displayName: "Renamed by an admin" });
    expect(rename.statusCode).toBe(409);
    expect(rename.json()).toMatchObject({
      error: "owned_by_odoo",
      message:
        "displayName is owned by Odoo while the Odoo bridge is on (Odoo field name): change it in Odoo's Cluster Registry",
      requestId: expect.any(String),
    });
    const namespaces = await patch({ allowedNamespaces: ["team-*"], signPayloads: true });
    expect(namespaces.statusCode).toBe(409);
    expect(namespaces.json().message).toMatch(/^allowedNamespaces is owned by Odoo .*allowed_namespaces/);
    // The same value is no change, and what Odoo does not own stays the admin's.
    const same = await patch({ displayName: "Owned by Odoo", signPayloads: true });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ displayName: "Owned by Odoo", signPayloads: true });
    await bridge.pull();
    expect(await clusterRow()).toMatchObject({ displayName: "Owned by Odoo", allowedNamespaces: ["org-*"] });
  });

  it("leaves a setting to the admins when the Odoo model lacks its field", async () => {
    bridge.fake.registerModel(clusterModel({ without: ["slug"] }));
    bridge.fake.failNext(1, { type: "drop" }); // a reconnection: the bridge asks for the fields again
    await expect(bridge.pull()).rejects.toThrow();
    await bridge.pull();
    expect((await bridge.status()).missingFields).toEqual(["slug"]);
    const slug = await patch({ slug: "set-by-an-admin" });
    expect(slug.statusCode).toBe(200);
    expect((await patch({ displayName: "Still Odoo's" })).statusCode).toBe(409);
  });
});
