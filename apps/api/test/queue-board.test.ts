import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { buildAdminApp } from "../src/admin/admin-app.ts";

// Bull Board on the internal listener: every request needs an admin key with `queues:read`
// (Bearer, X-Api-Key, or a browser's Basic password), and the board only reads.

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let admin: Awaited<ReturnType<typeof buildAdminApp>>;
let allScopes: string;
let queuesKey: string;
let auditKey: string;

const basic = (password: string) => ({
  authorization: `Basic ${Buffer.from(`anyone:${password}`).toString("base64")}`,
});

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  admin = await buildAdminApp(harness.deps);
  allScopes = await adminKey(harness);
  const org = await harness.deps.db.organization.findFirstOrThrow();
  const create = async (scopes: string[]) =>
    (await harness.deps.apiKeys.create({ organizationId: org.id, name: scopes.join(","), scopes })).key;
  queuesKey = await create(["queues:read"]);
  auditKey = await create(["audit:read"]);
});

afterAll(async () => {
  await admin?.close();
  await harness?.close();
  await env?.close();
});

describe("queue dashboard", () => {
  it("asks a browser for a key, and refuses a key without queues:read", async () => {
    const anonymous = await admin.inject({ url: "/queues" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toMatch(/^Basic realm="vwksp queues"/);
    expect(anonymous.json()).toMatchObject({ error: "unauthorized" });
    expect(
      (await admin.inject({ url: "/queues/api/queues", headers: basic("vwksp-key-not-a-real-key-000000") }))
        .statusCode,
    ).toBe(401);
    const scoped = await admin.inject({ url: "/queues/api/queues", headers: basic(auditKey) });
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json()).toMatchObject({ error: "insufficient_scope" });
  });

  it("shows every queue of the catalog, read-only, with the jobs waiting in it", async () => {
    const { cluster } = await registeredCluster(harness, allScopes);
    const { jobId } = await rawJob(harness, allScopes, cluster.id, "board-waiting");
    const page = await admin.inject({ url: "/queues", headers: basic(queuesKey) });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("vWorkspace queues");

    const api = await admin.inject({
      url: "/queues/api/queues?activeQueue=dispatch&status=waiting&page=1",
      headers: adminHeaders(queuesKey),
    });
    expect(api.statusCode, api.body).toBe(200);
    const { queues } = api.json() as {
      queues: { name: string; readOnlyMode: boolean; jobs: { id: string }[] }[];
    };
    expect(queues.map((queue) => queue.name).sort()).toEqual([
      "dispatch",
      "execute",
      "maintenance",
      "odoo-sync",
      "webhooks",
    ]);
    expect(queues.every((queue) => queue.readOnlyMode)).toBe(true);
    expect(queues.find((queue) => queue.name === "dispatch")?.jobs.map((job) => job.id)).toContain(jobId);
  });

  it("refuses every change, even with an all-scope key", async () => {
    for (const url of ["/queues/api/queues/dispatch/clean/waiting", "/queues/api/queues/pause"]) {
      const response = await admin.inject({ method: "PUT", url, headers: adminHeaders(allScopes) });
      expect(response.statusCode, url).toBe(403);
      expect(response.json()).toMatchObject({ error: "read_only" });
    }
    expect(await harness.deps.queues.queue("dispatch").getWaitingCount()).toBeGreaterThan(0);
  });

  it("is not served on the agents' port", async () => {
    const response = await harness.app.inject({ url: "/queues", headers: basic(queuesKey) });
    expect(response.statusCode).toBe(404);
  });
});
