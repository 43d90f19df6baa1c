import { createOdooClient, isOdooError } from "@vwksp/odoo";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_FAKE_API_KEY, type FakeOdoo, startFakeOdoo } from "../src/index.ts";

let fake: FakeOdoo;
afterEach(async () => {
  await fake?.close();
});

describe.each([
  { version: 17 as const, protocol: "jsonrpc" as const },
  { version: 19 as const, protocol: "json2" as const },
])("the fake Odoo $version's Workspace Hub models ($protocol)", ({ version, protocol }) => {
  const client = () =>
    createOdooClient({ url: fake.url, db: fake.db, login: "admin", apiKey: DEFAULT_FAKE_API_KEY, protocol });

  it("writes an application's cluster as a record id and reads it back as [id, name]", async () => {
    fake = await startFakeOdoo({ version });
    const odoo = client();
    const clusterId = await odoo.create("vws.cluster", { name: "Prod" });
    const appId = await odoo.create("vws.application.instance", {
      name: "vault",
      namespace: "org-a",
      catalog_entry: "vaultwarden",
      cluster_id: clusterId,
    });
    const [row] = await odoo.read("vws.application.instance", [appId], {
      fields: ["cluster_id", "active", "state", "instance_id"],
    });
    expect(row).toEqual({
      id: appId,
      cluster_id: [clusterId, "Prod"],
      active: true,
      state: false,
      instance_id: false,
    });
    // A cluster that does not exist is refused like any many2one.
    await expect(odoo.create("vws.application.instance", { name: "x", cluster_id: 999 })).rejects.toSatisfy(
      (error) => isOdooError(error) && error.kind === "missing",
    );
    const code = await odoo.create("vws.catalog.entry", { code: "vaultwarden", name: "Vaultwarden" });
    await expect(odoo.create("vws.catalog.entry", { code: "vaultwarden", name: "Twin" })).rejects.toThrow(
      /The catalog code must be unique/,
    );
    expect(code).toBeGreaterThan(0);
  });

  it("posts on a cluster's chatter without touching the record, and refuses it on a model without one", async () => {
    fake = await startFakeOdoo({ version });
    const odoo = client();
    const clusterId = await odoo.create("vws.cluster", { name: "Chatty" });
    const before = fake.records("vws.cluster")[0]?.write_date;
    const messageId = await odoo.call("vws.cluster", "message_post", { ids: [clusterId], body: "Connected" });
    expect(typeof messageId).toBe("number");
    const described = await odoo.fieldsGet("vws.cluster", { attributes: ["type"] });
    expect(described.message_ids).toEqual({ type: "one2many" });
    const [row] = await odoo.read("vws.cluster", [clusterId], { fields: ["message_ids", "write_date"] });
    expect(row?.message_ids).toEqual([messageId]);
    expect(row?.write_date).toBe(before);
    expect(fake.records("mail.message").find((message) => message.id === messageId)).toMatchObject({
      model: "vws.cluster",
      res_id: clusterId,
      body: "Connected",
    });
    const appId = await odoo.create("vws.application.instance", { name: "quiet" });
    await expect(
      odoo.call("vws.application.instance", "message_post", { ids: [appId], body: "no" }),
    ).rejects.toSatisfy((error) => isOdooError(error) && error.kind !== "network");
  });
});
