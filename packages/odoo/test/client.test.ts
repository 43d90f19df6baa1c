import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type FakeOdoo, startFakeOdoo } from "../../odoo-fake/src/index.ts";
import {
  createOdooClient,
  type OdooCallEvent,
  type OdooClientOptions,
  OdooDatetimeField,
  OdooError,
  OdooTextField,
  parseMany2one,
} from "../src/index.ts";

// The client against the fake Odoo (@vwksp/odoo-fake), imported by path: the fake depends on this
// package, so a dependency back would make a cycle.
const ADMIN_KEY = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0";
const BOT_KEY = "0f9e8d7c6b5a0f9e8d7c6b5a0f9e8d7c6b5a0f9e";
const BOT_UID = 6;

/** Every error and call event the tests see; none may mention a key (checked at the end). */
const seenErrors: OdooError[] = [];
const seenEvents: OdooCallEvent[] = [];

async function failure(promise: Promise<unknown>): Promise<OdooError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(OdooError);
  seenErrors.push(error as OdooError);
  return error as OdooError;
}

function startServer(version: 17 | 19, options: { omitCluster?: boolean } = {}) {
  return startFakeOdoo({
    version,
    apiKey: ADMIN_KEY,
    users: [{ uid: BOT_UID, login: "bot", name: "Sync Bot", apiKey: BOT_KEY, password: "botpass" }],
    ...(options.omitCluster ? { omitModels: ["vws.cluster"] } : {}),
  });
}

function clientFor(fake: FakeOdoo, overrides: Partial<OdooClientOptions> = {}) {
  return createOdooClient({
    url: `${fake.url}/`,
    db: fake.db,
    login: "admin",
    apiKey: ADMIN_KEY,
    protocol: "auto",
    timeoutMs: 2_000,
    onCall: (event) => seenEvents.push(event),
    ...overrides,
  });
}

function lastBody(fake: FakeOdoo): unknown {
  return JSON.parse(fake.requests.at(-1)?.body ?? "null");
}

let fake: FakeOdoo;
afterEach(async () => {
  await fake?.close();
});

describe.each([
  { version: 17 as const, transport: "jsonrpc" as const },
  { version: 19 as const, transport: "json2" as const },
])("Odoo $version over $transport", ({ version, transport }) => {
  it("detects the protocol once and authenticates", async () => {
    fake = await startServer(version);
    const client = clientFor(fake);
    expect(await client.protocol()).toBe(transport);
    expect(await client.protocol()).toBe(transport);
    expect(fake.requests.filter((r) => r.body.includes('"method":"version"'))).toHaveLength(1);
    expect(await client.authenticate()).toBe(2);
    const bot = clientFor(fake, { login: "bot", apiKey: BOT_KEY });
    expect(await bot.authenticate()).toBe(BOT_UID);
  });

  it("probes the version once per connection, and again only after a connection error", async () => {
    fake = await startServer(version);
    const client = clientFor(fake);
    expect(client.detectedServer()).toBeUndefined();
    for (let i = 0; i < 5; i += 1) await client.searchCount("res.partner", []);
    expect(fake.callCount("common.version")).toBe(1);
    expect(client.detectedServer()).toEqual({ protocol: transport, serverVersion: `${version}.0` });

    fake.failNext(1, { type: "drop" });
    expect((await failure(client.searchCount("res.partner", []))).kind).toBe("network");
    expect(client.detectedServer()).toBeUndefined();
    for (let i = 0; i < 3; i += 1) await client.searchCount("res.partner", []);
    expect(fake.callCount("common.version")).toBe(2);
    // An Odoo error is an answer of the same server: no new probe.
    await failure(client.write("res.partner", [999_999], { name: "x" }));
    await client.searchCount("res.partner", []);
    expect(fake.callCount("common.version")).toBe(2);
    const fixed = clientFor(fake, { protocol: transport });
    await fixed.searchCount("res.partner", []);
    expect(fake.callCount("common.version")).toBe(2);
    expect(fixed.detectedServer()).toEqual({ protocol: transport, serverVersion: undefined });
  });

  it("classifies a wrong database the same way on both transports: unknown_database, not retried", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { db: "nosuchdb", protocol: transport });
    const error = await failure(client.searchCount("res.partner", []));
    expect(error).toMatchObject({ kind: "unknown_database", retryable: false });
    expect(error.message).toContain("nosuchdb");
  });

  it("says that an outage was met while detecting the version", async () => {
    fake = await startServer(version);
    fake.failNext(1, { type: "status", status: 502 });
    const error = await failure(clientFor(fake).searchCount("res.partner", []));
    expect(error).toMatchObject({ kind: "server", retryable: true, httpStatus: 502 });
    expect(error.message).toMatch(
      /^detecting the Odoo version \(ODOO_PROTOCOL=auto\): HTTP 502 from \/jsonrpc/,
    );
  });

  it("rejects a bad key with a non-retryable access_denied error", async () => {
    fake = await startServer(version);
    const error = await failure(clientFor(fake, { apiKey: "not-the-right-key" }).authenticate());
    expect(error).toMatchObject({ kind: "access_denied", retryable: false, transport });
    expect(error.name).toBe(
      transport === "json2" ? "werkzeug.exceptions.Unauthorized" : "odoo.exceptions.AccessDenied",
    );
    if (transport === "json2") expect(error.httpStatus).toBe(401);
  });

  it("creates, reads, searches, writes and unlinks", async () => {
    fake = await startServer(version);
    const client = clientFor(fake);
    const parentId = await client.create("res.partner", { name: "Acme One", is_company: true });
    expect(parentId).toEqual(expect.any(Number));
    const childIds = await client.create("res.partner", [
      { name: "Acme Two", parent_id: parentId },
      { name: "Acme Three" },
    ]);
    expect(childIds).toHaveLength(2);
    const [twoId = 0, threeId = 0] = childIds;

    expect(await client.write("res.partner", [threeId], { parent_id: parentId, comment: "hi" })).toBe(true);
    const rows = await client.read("res.partner", [twoId, 999_999], { fields: ["name", "parent_id"] });
    expect(rows).toEqual([{ id: twoId, name: "Acme Two", parent_id: [parentId, "Acme One"] }]);
    const bare = await client.read("res.partner", [twoId], { fields: ["parent_id"], load: null });
    expect(bare).toEqual([{ id: twoId, parent_id: parentId }]);

    const found = await client.searchRead(
      "res.partner",
      ["|", ["name", "ilike", "acme t"], ["id", "=", parentId]],
      {
        fields: ["name", "parent_id", "write_date"],
        order: "id desc",
        limit: 2,
        offset: 0,
        context: { lang: "en_US" },
      },
    );
    expect(found.map((row) => row.name)).toEqual(["Acme Three", "Acme Two"]);
    expect(found[0]?.write_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(await client.search("res.partner", [["parent_id", "=", parentId]], { order: "id desc" })).toEqual([
      threeId,
      twoId,
    ]);
    expect(await client.searchCount("res.partner", [["name", "=like", "Acme%"]])).toBe(3);

    expect(await client.unlink("res.partner", [threeId])).toBe(true);
    expect(await client.read("res.partner", [threeId])).toEqual([]);
    const fields = await client.fieldsGet("res.partner", {
      fields: ["parent_id"],
      attributes: ["type", "relation"],
    });
    expect(fields).toEqual({ parent_id: { type: "many2one", relation: "res.partner" } });
  });

  it("puts arguments where the transcripts show them", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { protocol: transport });
    await client.write("res.partner", [2], { comment: "x" }, { context: { lang: "en_US" } });
    await client.searchRead("res.partner", [["name", "ilike", "a"]], { fields: ["name"], limit: 5 });
    const [write, searchRead] = fake.requests.slice(-2).map((r) => JSON.parse(r.body));
    if (transport === "json2") {
      expect(fake.requests.at(-1)?.path).toBe("/json/2/res.partner/search_read");
      expect(fake.requests.at(-1)?.headers).toMatchObject({
        authorization: `bearer ${ADMIN_KEY}`,
        "x-odoo-database": fake.db,
        "content-type": "application/json",
      });
      expect(write).toEqual({ ids: [2], vals: { comment: "x" }, context: { lang: "en_US" } });
      expect(searchRead).toEqual({ domain: [["name", "ilike", "a"]], fields: ["name"], limit: 5 });
    } else {
      expect(write.params.args).toEqual([
        fake.db,
        2,
        ADMIN_KEY,
        "res.partner",
        "write",
        [[2], { comment: "x" }],
        { context: { lang: "en_US" } },
      ]);
      expect(searchRead.params.args.slice(3)).toEqual([
        "res.partner",
        "search_read",
        [[["name", "ilike", "a"]]],
        { fields: ["name"], limit: 5 },
      ]);
    }
  });

  it("names positional executeKw arguments and supports named calls", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { protocol: transport });
    const id = await client.executeKw("res.partner", "create", [{ name: "Solo" }]);
    expect(id).toEqual(expect.any(Number));
    const rows = await client.executeKw("res.partner", "search_read", [[["id", "=", id]], ["name"]], {
      limit: 1,
    });
    expect(rows).toEqual([{ id, name: "Solo" }]);
    if (transport === "json2")
      expect(lastBody(fake)).toEqual({ domain: [["id", "=", id]], fields: ["name"], limit: 1 });
    if (transport === "json2") {
      const before = fake.requestCount;
      const unmappable = await failure(client.executeKw("res.partner", "name_search", ["acme", [], "ilike"]));
      expect(unmappable).toMatchObject({ kind: "invalid_request", retryable: false });
      expect(fake.requestCount).toBe(before);
    }
    const context = await client.call("res.users", "context_get");
    expect(context).toMatchObject({ uid: 2, lang: "en_US" });
    expect(
      await client.executeKw("res.partner", "search_count", [[["active", "=", false]]], {
        context: { active_test: false },
      }),
    ).toBe(0);
  });

  it("validates records with a caller's schema", async () => {
    fake = await startServer(version);
    const client = clientFor(fake);
    await client.create("vws.cluster", {
      cluster_id: "c-1",
      name: "One",
      last_heartbeat: "2026-01-02 03:04:05",
    });
    const Cluster = z.object({
      id: z.number(),
      cluster_id: z.string(),
      slug: OdooTextField,
      last_heartbeat: OdooDatetimeField,
      write_date: OdooDatetimeField,
    });
    const [cluster] = await client.searchRead("vws.cluster", [["cluster_id", "=", "c-1"]], {
      fields: ["cluster_id", "slug", "last_heartbeat", "write_date"],
      schema: Cluster,
    });
    expect(cluster?.slug).toBeNull();
    expect(cluster?.last_heartbeat?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    const bad = await failure(
      client.searchRead("vws.cluster", [], { fields: ["slug"], schema: z.object({ slug: z.string() }) }),
    );
    expect(bad).toMatchObject({ kind: "protocol", retryable: false });
  });

  it("classifies Odoo's errors", async () => {
    fake = await startServer(version, { omitCluster: true });
    const client = clientFor(fake);
    const bot = clientFor(fake, { login: "bot", apiKey: BOT_KEY });
    const expectations: [() => Promise<unknown>, string, boolean][] = [
      [() => bot.searchRead("ir.cron", []), "access_error", false],
      [() => client.executeKw("res.partner", "_compute_display_name", [[2]]), "access_error", false],
      [() => client.write("res.partner", [999_999], { name: "x" }), "missing", false],
      [() => client.write("res.partner", [1], { parent_id: 1 }), "validation", false],
      [() => client.searchRead("vws.cluster", []), "unknown_model", false],
      [() => client.executeKw("res.partner", "frobnicate", []), "unknown_method", false],
      [() => client.searchCount("res.partner", [["nope", "=", 1]]), "invalid_request", false],
      [() => client.executeKw("res.partner", "search_count", [[]], { bogus: 1 }), "invalid_request", false],
    ];
    for (const [run, kind, retryable] of expectations) {
      expect(await failure(run())).toMatchObject({ kind, retryable, transport });
    }
    // Deleting the admin user: a FK ValidationError up to Odoo 18, a UserError from 19 (recorded).
    const admin = await failure(client.unlink("res.users", [2]));
    expect(admin.kind).toBe(version >= 19 ? "user_error" : "validation");
    if (transport === "json2") {
      expect((await failure(client.write("res.partner", [999_999], { name: "x" }))).httpStatus).toBe(404);
      expect((await failure(bot.create("res.partner", { name: "x" }))).httpStatus).toBe(403);
    }
  });

  it("treats an API key revoked after login as access_denied", async () => {
    fake = await startServer(version);
    const client = clientFor(fake);
    await client.searchCount("res.partner", []);
    fake.setApiKey(2, undefined);
    const error = await failure(client.searchCount("res.partner", []));
    expect(error).toMatchObject({ kind: "access_denied", retryable: false });
  });

  it("retries what is transient: LockError, 5xx, dropped sockets", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { protocol: transport });
    await client.authenticate();
    fake.failNext(1, { type: "lock" });
    const lock = await failure(client.searchCount("res.partner", []));
    expect(lock).toMatchObject({ kind: "lock", retryable: true, name: "odoo.exceptions.LockError" });
    if (transport === "json2") expect(lock.httpStatus).toBe(409);

    fake.failNext(2, { type: "status", status: 503 });
    expect(await failure(client.searchCount("res.partner", []))).toMatchObject({
      kind: "server",
      retryable: true,
      httpStatus: 503,
    });
    expect(await failure(client.searchCount("res.partner", []))).toMatchObject({
      kind: "server",
      retryable: true,
    });

    fake.failNext(1, { type: "drop" });
    expect(await failure(client.searchCount("res.partner", []))).toMatchObject({
      kind: "network",
      retryable: true,
      transport: "network",
    });

    fake.failNext(1, {
      type: "status",
      status: 200,
      body: "<html>proxy</html>",
      contentType: "application/json",
    });
    expect(await failure(client.searchCount("res.partner", []))).toMatchObject({
      kind: "protocol",
      retryable: false,
    });
    expect(await client.searchCount("res.partner", [])).toBeGreaterThan(0);
  });

  it("times out on a slow server", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { protocol: transport, timeoutMs: 100 });
    fake.setLatency(400);
    const error = await failure(client.version());
    expect(error).toMatchObject({ kind: "timeout", retryable: true, transport: "network" });
    expect(error.message).toContain("timed out after 100 ms");
  });

  it("scrubs the key from errors Odoo echoes it in", async () => {
    fake = await startServer(version);
    const client = clientFor(fake, { protocol: transport });
    await client.authenticate();
    fake.failNext(1, {
      type: "odoo",
      name: "builtins.TypeError",
      message: `execute_kw() got '${ADMIN_KEY}'`,
    });
    const error = await failure(client.searchCount("res.partner", []));
    expect(error.message).toBe("execute_kw() got '[REDACTED]'");
    expect(error.arguments).toEqual(["execute_kw() got '[REDACTED]'"]);
  });
});

describe("network failures", () => {
  let closedPort: number;
  beforeAll(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reports a closed port as a retryable network error", async () => {
    const client = createOdooClient({
      url: `http://127.0.0.1:${closedPort}`,
      db: "odoo",
      login: "admin",
      apiKey: ADMIN_KEY,
      protocol: "auto",
    });
    const error = await failure(client.authenticate());
    expect(error).toMatchObject({ kind: "network", retryable: true, transport: "network" });
    expect(error.message).toContain("ECONNREFUSED");
    // auto-detection failed: it is retried on the next call, not cached.
    expect((await failure(client.protocol())).kind).toBe("network");
  });

  it("parses many2one values", () => {
    expect(parseMany2one([7, "Acme One"])).toEqual({ id: 7, name: "Acme One" });
    expect(parseMany2one(7)).toEqual({ id: 7 });
    expect(parseMany2one(false)).toBeNull();
  });
});

afterAll(() => {
  expect(seenErrors.length).toBeGreaterThan(40);
  for (const error of seenErrors) {
    const text = [
      error.message,
      String(error),
      error.stack,
      JSON.stringify(error),
      JSON.stringify(error.arguments),
      error.debug,
      JSON.stringify(error.cause),
    ].join("\n");
    expect(text).not.toContain(ADMIN_KEY);
    expect(text).not.toContain(BOT_KEY);
  }
  expect(seenEvents.length).toBeGreaterThan(50);
  expect(JSON.stringify(seenEvents)).not.toContain(ADMIN_KEY);
});
