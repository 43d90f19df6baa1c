import { createOdooClient } from "@vwksp/odoo";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeOdoo, startFakeOdoo } from "../src/index.ts";

let fake: FakeOdoo;
afterEach(async () => {
  await fake?.close();
});

function rpc(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/jsonrpc`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("the fake Odoo store", () => {
  it("filters with Odoo's domain operators", async () => {
    fake = await startFakeOdoo({ version: 17 });
    const client = createOdooClient({
      url: fake.url,
      db: fake.db,
      login: "admin",
      apiKey: "fake-odoo-api-key-0000000000000000000000",
      protocol: "jsonrpc",
    });
    fake.seed("vws.cluster", [
      { id: 10, cluster_id: "a", name: "Alpha", state: "connected", last_heartbeat: "2026-01-01 10:00:00" },
      { id: 11, cluster_id: "b", name: "beta", state: "disconnected", last_heartbeat: "2026-01-01 11:00:00" },
      { id: 12, cluster_id: "c", name: "Gamma_1", state: "pending" },
    ]);
    const ids = (domain: unknown[]) => client.search("vws.cluster", domain, { order: "id" });
    expect(await ids([["state", "=", "connected"]])).toEqual([10]);
    expect(await ids([["state", "!=", "connected"]])).toEqual([11, 12]);
    expect(await ids([["last_heartbeat", ">", "2026-01-01 10:00:00"]])).toEqual([11]);
    expect(await ids([["last_heartbeat", ">=", "2026-01-01 10:00:00"]])).toEqual([10, 11]);
    expect(await ids([["last_heartbeat", "<", "2026-01-01 11:00:00"]])).toEqual([10]);
    expect(await ids([["last_heartbeat", "<=", "2026-01-01 11:00:00"]])).toEqual([10, 11]);
    expect(await ids([["last_heartbeat", "=", false]])).toEqual([12]);
    expect(await ids([["id", "in", [10, 12, 99]]])).toEqual([10, 12]);
    expect(await ids([["id", "not in", [10]]])).toEqual([11, 12]);
    expect(await ids([["name", "ilike", "ET"]])).toEqual([11]);
    expect(await ids([["name", "like", "ET"]])).toEqual([]);
    expect(await ids([["name", "like", "a_1"]])).toEqual([12]);
    expect(await ids([["name", "not ilike", "a"]])).toEqual([]);
    expect(await ids(["|", ["cluster_id", "=", "a"], ["cluster_id", "=", "c"]])).toEqual([10, 12]);
    expect(await ids(["&", ["name", "ilike", "a"], ["state", "=", "pending"]])).toEqual([12]);
    expect(await ids(["!", ["state", "=", "pending"]])).toEqual([10, 11]);
    expect(await ids([["name", "ilike", "a"], "|", ["id", "=", 10], ["id", "=", 11]])).toEqual([10, 11]);
    expect(await ids([["write_uid.name", "=", "OdooBot"]])).toEqual([10, 11, 12]);
    expect(await ids([["write_uid", "=", "OdooBot"]])).toEqual([10, 11, 12]);
  });

  it("keeps create_date and write_date in Odoo's format, from the clock", async () => {
    let now = new Date("2026-03-01T12:00:00.250Z");
    fake = await startFakeOdoo({ version: 19, apiKey: "k".repeat(40), clock: () => now });
    const client = createOdooClient({ url: fake.url, db: fake.db, login: "admin", apiKey: "k".repeat(40) });
    const id = await client.create("vws.cluster", {
      cluster_id: "x",
      name: "X",
      last_heartbeat: "2026-03-01 11:59:00",
    });
    now = new Date("2026-03-01T12:00:05Z");
    await client.write("vws.cluster", [id], { operator_version: "1.2.3" });
    const [row] = fake.records("vws.cluster");
    expect(row).toMatchObject({
      create_date: "2026-03-01 12:00:00",
      write_date: "2026-03-01 12:00:05",
      operator_version: "1.2.3",
      state: "pending",
      connectivity_mode: "pull",
    });
    const changed = await client.search("vws.cluster", [["write_date", ">=", "2026-03-01 12:00:05"]]);
    expect(changed).toEqual([id]);
  });

  it("enforces required fields, unique keys and selections like Odoo", async () => {
    fake = await startFakeOdoo({ version: 17, apiKey: "k".repeat(40) });
    const client = createOdooClient({ url: fake.url, db: fake.db, login: "admin", apiKey: "k".repeat(40) });
    await client.create("vws.cluster", { cluster_id: "x", name: "X" });
    await expect(client.create("vws.cluster", { cluster_id: "x", name: "Y" })).rejects.toMatchObject({
      kind: "validation",
    });
    await expect(client.create("vws.cluster", { cluster_id: "z" })).rejects.toMatchObject({
      kind: "validation",
      message: expect.stringContaining("Field: Name (name)"),
    });
    await expect(
      client.create("vws.cluster", { cluster_id: "y", name: "Y", state: "bogus" }),
    ).rejects.toMatchObject({
      kind: "invalid_request",
      message: "Wrong value for vws.cluster.state: 'bogus'",
    });
    await expect(client.write("vws.cluster", [1], { nope: 1 })).rejects.toMatchObject({
      kind: "invalid_request",
    });
    expect(fake.records("vws.cluster")).toHaveLength(1);
  });

  it("lets tests register models and render many2one as [id, display_name]", async () => {
    fake = await startFakeOdoo({ version: 18, apiKey: "k".repeat(40) });
    fake.registerModel({
      name: "vws.organization",
      description: "Organization",
      fields: { name: { type: "char", string: "Name", required: true } },
    });
    fake.registerModel({
      name: "vws.site",
      description: "Site",
      fields: {
        name: { type: "char", string: "Name" },
        organization_id: { type: "many2one", string: "Organization", relation: "vws.organization" },
      },
    });
    const client = createOdooClient({ url: fake.url, db: fake.db, login: "admin", apiKey: "k".repeat(40) });
    const org = await client.create("vws.organization", { name: "ACME" });
    const site = await client.create("vws.site", { name: "Paris", organization_id: org });
    expect(await client.read("vws.site", [site], { fields: ["organization_id"] })).toEqual([
      { id: site, organization_id: [org, "ACME"] },
    ]);
    await client.unlink("vws.organization", [org]);
    expect(await client.read("vws.site", [site], { fields: ["organization_id"] })).toEqual([
      { id: site, organization_id: false },
    ]);
  });
});

describe("the fake Odoo's test controls", () => {
  it("fails the next N requests, then recovers, and records every request", async () => {
    fake = await startFakeOdoo({ version: 16 });
    fake.failNext(2, { type: "status", status: 502 });
    const version = {
      jsonrpc: "2.0",
      method: "call",
      params: { service: "common", method: "version", args: [] },
      id: 1,
    };
    expect((await rpc(fake.url, version)).status).toBe(502);
    expect((await rpc(fake.url, version)).status).toBe(502);
    const ok = await rpc(fake.url, version);
    expect(await ok.json()).toMatchObject({ result: { server_version_info: [16, 0, 0, "final", 0, ""] } });
    expect(fake.requestCount).toBe(3);
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/jsonrpc" });
    fake.clearRequests();
    expect(fake.requestCount).toBe(0);
  });

  it("answers Odoo errors in the envelope of the route", async () => {
    fake = await startFakeOdoo({ version: 19, apiKey: "k".repeat(40) });
    fake.failNext(1, { type: "odoo", name: "odoo.exceptions.UserError", message: "nope" });
    fake.failNext(1, { type: "lock" });
    const first = await rpc(fake.url, { jsonrpc: "2.0", method: "call", params: {}, id: 9 });
    expect(await first.json()).toMatchObject({
      id: 9,
      error: { code: 0, data: { name: "odoo.exceptions.UserError", message: "nope" } },
    });
    const second = await fetch(`${fake.url}/json/2/res.partner/search_count`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `bearer ${"k".repeat(40)}` },
      body: "{}",
    });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ name: "odoo.exceptions.LockError" });
  });

  it("serves JSON-2 only from Odoo 19", async () => {
    fake = await startFakeOdoo({ version: 18 });
    const response = await fetch(`${fake.url}/json/2/res.partner/search_count`, {
      method: "POST",
      body: "{}",
    });
    expect(response.status).toBe(404);
  });

  it("checks X-Odoo-Database and answers malformed JSON-2 bodies with 400", async () => {
    fake = await startFakeOdoo({ version: 19, apiKey: "k".repeat(40) });
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${fake.url}/json/2/res.partner/search_count`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `bearer ${"k".repeat(40)}`,
          ...headers,
        },
        body,
      });
    const all = '{"domain": []}';
    // Seen on real 19.0: an unknown database is werkzeug's HTML 404, not a JSON error.
    const foreign = await post(all, { "X-Odoo-Database": "other" });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await foreign.text()).toContain("<title>404 Not Found</title>");
    expect((await post(all, { "X-Odoo-Database": fake.db })).status).toBe(200);
    expect((await post("{}")).status).toBe(422); // search_count's domain is required
    const bad = await post("{nope");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ name: "werkzeug.exceptions.BadRequest" });
  });
});
