import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOdooClient } from "@vwksp/odoo";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_FAKE_API_KEY, type FakeOdoo, startFakeOdoo } from "../src/index.ts";

// What real Odoo 17.0 and 19.0 did that the recorded transcripts did not show
// (shared/notes/real-peers.md), taught to the fake.

let fake: FakeOdoo;
let receiver: Server | undefined;
afterEach(async () => {
  await fake?.close();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  receiver = undefined;
});

const clientOf = (odoo: FakeOdoo) =>
  createOdooClient({ url: odoo.url, db: odoo.db, login: "admin", apiKey: DEFAULT_FAKE_API_KEY });

/** A webhook receiver that reads the record from Odoo the moment the webhook arrives. */
async function startReceiver(onWebhook: (body: Record<string, unknown>) => Promise<void>) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void onWebhook(JSON.parse(Buffer.concat(chunks).toString("utf8"))).finally(() => res.end("ok"));
    });
  });
  receiver = server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

describe("the fake Odoo's transactions", () => {
  it("stamps a change with its transaction's start, shown in whole seconds, visible only at commit", async () => {
    let now = new Date("2026-12-01T10:00:00.400Z");
    fake = await startFakeOdoo({ version: 17, clock: () => now });
    const client = clientOf(fake);
    const [slow, quick] = fake.seed("vws.cluster", [
      { name: "Slow", allowed_namespaces: "a", write_date: "2026-12-01 09:00:00" },
      { name: "Quick", write_date: "2026-12-01 09:00:00" },
    ]) as [number, number];

    const save = fake.beginTransaction(); // an Odoo user's save that takes a while
    await save.write("vws.cluster", [slow], { allowed_namespaces: "b" });
    now = new Date("2026-12-01T10:00:05.100Z");
    await fake.edit("vws.cluster", quick, { name: "Quicker" });
    now = new Date("2026-12-01T10:00:20Z");

    const read = async () =>
      client.read("vws.cluster", [slow], { fields: ["allowed_namespaces", "write_date"] });
    expect(await read()).toEqual([{ id: slow, allowed_namespaces: "a", write_date: "2026-12-01 09:00:00" }]);
    const cursor = "2026-12-01 10:00:05"; // what a pull saw last: the quick edit
    expect(await client.search("vws.cluster", [["write_date", ">=", cursor]])).toEqual([quick]);

    await save.commit();
    // The late commit carries its start, older than the cursor: only an overlap finds it.
    expect(await read()).toEqual([{ id: slow, allowed_namespaces: "b", write_date: "2026-12-01 10:00:00" }]);
    expect(await client.search("vws.cluster", [["write_date", ">=", cursor]])).toEqual([quick]);
    expect(await client.search("vws.cluster", [["write_date", ">=", "2026-12-01 10:00:00"]])).toEqual([
      slow,
      quick,
    ]);
    // PostgreSQL keeps the microseconds: the whole second shown does not compare equal.
    expect(await client.search("vws.cluster", [["write_date", "=", "2026-12-01 10:00:00"]])).toEqual([]);
  });

  it("lets a save be rolled back without a trace", async () => {
    fake = await startFakeOdoo({ version: 19 });
    const [id] = fake.seed("vws.cluster", [{ name: "Kept" }]) as [number];
    const save = fake.beginTransaction();
    await save.write("vws.cluster", [id], { name: "Dropped" });
    expect(save.read("vws.cluster", [id], ["name"])).toEqual([{ id, name: "Dropped" }]);
    save.rollback();
    expect(fake.records("vws.cluster")[0]?.name).toBe("Kept");
  });
});

describe.each([
  { version: 17 as const, seenByReceiver: "org-old", when: "before the commit" },
  { version: 19 as const, seenByReceiver: "org-new", when: "after the commit" },
])("Odoo $version's webhook", ({ version, seenByReceiver, when }) => {
  it(`is posted ${when}, only for changes of its trigger fields`, async () => {
    fake = await startFakeOdoo({ version });
    const client = clientOf(fake);
    const seen: { body: Record<string, unknown>; namespaces: unknown }[] = [];
    const url = await startReceiver(async (body) => {
      const [row] = await client.read("vws.cluster", [body._id as number], {
        fields: ["allowed_namespaces"],
      });
      seen.push({ body, namespaces: row?.allowed_namespaces });
    });
    fake.addAutomation({ model: "vws.cluster", url, triggerFields: ["name", "allowed_namespaces"] });
    const [id] = fake.seed("vws.cluster", [{ name: "Hooked", allowed_namespaces: "org-old" }]) as [number];

    await fake.edit("vws.cluster", id, { allowed_namespaces: "org-new" });
    expect(seen).toEqual([
      {
        body: { _action: "Send Webhook Notification(#1)", _id: id, _model: "vws.cluster" },
        namespaces: seenByReceiver,
      },
    ]);
    // The bridge's own writes touch runtime fields only: no webhook.
    await client.write("vws.cluster", [id], { state: "connected" });
    // Writing the same value again changes nothing: no webhook either.
    await client.write("vws.cluster", [id], { allowed_namespaces: "org-new" });
    expect(seen).toHaveLength(1);
    expect(fake.webhookDeliveries.map((delivery) => delivery.outcome)).toEqual([200]);
  });

  it(`is posted ${when} of a deletion too, when the action triggers on deletion`, async () => {
    fake = await startFakeOdoo({ version });
    const client = clientOf(fake);
    const seen: unknown[] = [];
    const url = await startReceiver(async (body) => {
      seen.push(
        await client.search("vws.cluster", [["id", "=", body._id]], { context: { active_test: false } }),
      );
    });
    fake.addAutomation({ model: "vws.cluster", url, trigger: "on_unlink" });
    const [id] = fake.seed("vws.cluster", [{ name: "Deleted" }]) as [number];
    await fake.edit("vws.cluster", id, { name: "Edited" }); // not a deletion: no webhook
    await fake.delete("vws.cluster", [id]);
    expect(seen).toEqual([version === 17 ? [id] : []]);
  });

  it("is sent for records created over the API too, and a dead receiver does not fail the save", async () => {
    fake = await startFakeOdoo({ version });
    fake.addAutomation({ model: "vws.cluster", url: "http://127.0.0.1:9/unreachable" });
    const id = await clientOf(fake).create("vws.cluster", { name: "Created" });
    expect(fake.records("vws.cluster").map((row) => row.id)).toEqual([id]);
    expect(fake.webhookDeliveries).toHaveLength(1);
    expect(fake.webhookDeliveries[0]?.outcome).toEqual(expect.any(String));
  });
});

describe("the fake Odoo's records", () => {
  it.each([
    { version: 16 as const, answer: "true" },
    { version: 17 as const, answer: "true" },
    { version: 18 as const, answer: "MissingError" },
    { version: 19 as const, answer: "MissingError" },
  ])(
    "answers a write to a deleted vws.cluster record on $version with $answer",
    async ({ version, answer }) => {
      fake = await startFakeOdoo({ version });
      const client = clientOf(fake);
      const id = await client.create("vws.cluster", { name: "Doomed" });
      await fake.delete("vws.cluster", [id]);
      const write = client.write("vws.cluster", [id], { state: "connected" });
      if (answer === "true") await expect(write).resolves.toBe(true);
      else await expect(write).rejects.toMatchObject({ kind: "missing" });
      // res.partner has record rules: a deleted partner is a MissingError everywhere (recorded).
      const partner = await client.create("res.partner", { name: "Gone" }).catch(() => undefined);
      if (partner !== undefined) {
        await fake.delete("res.partner", [partner]);
        await expect(client.write("res.partner", [partner], { name: "x" })).rejects.toMatchObject({
          kind: "missing",
        });
      }
      expect(fake.records("vws.cluster")).toEqual([]);
    },
  );

  it("reads a field cleared in the form as false, an empty string as it was written", async () => {
    fake = await startFakeOdoo({ version: 17 });
    const client = clientOf(fake);
    const [id] = fake.seed("vws.cluster", [{ name: "Lists", allowed_namespaces: "org-a\norg-b" }]) as [
      number,
    ];
    await fake.edit("vws.cluster", id, { allowed_namespaces: false }); // the web client sends false
    expect(await client.read("vws.cluster", [id], { fields: ["allowed_namespaces"] })).toEqual([
      { id, allowed_namespaces: false },
    ]);
    await client.write("vws.cluster", [id], { allowed_namespaces: "" });
    expect(fake.records("vws.cluster")[0]?.allowed_namespaces).toBe("");
  });

  it("hides archived records from searches unless active_test is off; read still returns them", async () => {
    fake = await startFakeOdoo({ version: 19 });
    const client = clientOf(fake);
    const [kept, archived] = fake.seed("vws.cluster", [{ name: "Kept" }, { name: "Archived" }]) as [
      number,
      number,
    ];
    await fake.edit("vws.cluster", archived, { active: false });
    expect(await client.search("vws.cluster", [])).toEqual([kept]);
    expect(await client.search("vws.cluster", [], { context: { active_test: false } })).toEqual([
      kept,
      archived,
    ]);
    expect(await client.read("vws.cluster", [archived], { fields: ["active"] })).toEqual([
      { id: archived, active: false },
    ]);
  });

  it("counts what was asked for, the version endpoint included, on both transports", async () => {
    fake = await startFakeOdoo({ version: 19 });
    const client = clientOf(fake);
    await client.search("vws.cluster", []);
    await client.search("vws.cluster", []);
    await createOdooClient({
      url: fake.url,
      db: fake.db,
      login: "admin",
      apiKey: DEFAULT_FAKE_API_KEY,
      protocol: "jsonrpc",
    }).search("vws.cluster", []);
    expect(fake.calls()).toEqual([
      "common.version",
      "vws.cluster.search",
      "vws.cluster.search",
      "common.authenticate",
      "vws.cluster.search",
    ]);
    expect(fake.callCount("common.version")).toBe(1);
  });
});
