import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually } from "../../../test/support/fixtures.ts";

// GET/POST /api/v1/api-keys, DELETE /api/v1/api-keys/{id}, POST /api/v1/api-keys/{id}/rotate:
// secrets shown once, revocation at once on every process, rotation with an overlap.

let env: TestEnv;
let first: Awaited<ReturnType<typeof createTestApp>>;
/** A second API process on the same database and Redis (its own key cache). */
let second: Awaited<ReturnType<typeof createTestApp>>;
let root: string;

beforeAll(async () => {
  env = await createTestEnv();
  first = await createTestApp({ env, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "1000" } });
  second = await createTestApp({ env, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "1000" } });
  root = await adminKey(first);
});

afterAll(async () => {
  await second?.close();
  await first?.close();
  await env?.close();
});

type Harness = typeof first;
const me = (harness: Harness, key: string) =>
  harness.app
    .inject({ url: "/api/v1/me", headers: adminHeaders(key) })
    .then((response) => response.statusCode);

async function createKey(body: Record<string, unknown>, key = root) {
  const response = await first.app.inject({
    method: "POST",
    url: "/api/v1/api-keys",
    headers: adminHeaders(key),
    payload: body,
  });
  return { status: response.statusCode, body: response.json() };
}

describe("API key lifecycle", () => {
  it("creates a key shown once; the list shows it without secret or hash", async () => {
    const created = await createKey({ name: "odoo-module", scopes: ["clusters:read", "jobs:write"] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      name: "odoo-module",
      scopes: ["clusters:read", "jobs:write"],
      status: "active",
      expiresAt: null,
      revokedAt: null,
      key: expect.stringMatching(/^vwksp-key-[0-9a-f]{48}$/),
    });
    expect(await me(first, created.body.key)).toBe(200);

    const list = await first.app.inject({ url: "/api/v1/api-keys", headers: adminHeaders(root) });
    expect(list.statusCode).toBe(200);
    const row = list.json().items.find((item: { id: string }) => item.id === created.body.id);
    expect(row).toMatchObject({ name: "odoo-module", status: "active", lastUsedAt: expect.any(String) });
    expect(row).not.toHaveProperty("key");
    expect(row).not.toHaveProperty("keyHash");
    expect(list.body).not.toContain(created.body.key.slice(10));
    const stored = await first.deps.db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(list.body).not.toContain(stored.keyHash);

    const audit = await first.deps.db.auditEntry.findMany({ where: { kind: "ApiKeyCreated" } });
    expect(audit.map((entry) => (entry.data as { keyId: string }).keyId)).toContain(created.body.id);
  });

  it("takes `all` and `*` for every scope, and lists the valid scopes for an unknown one", async () => {
    for (const word of ["all", "*"]) {
      const created = await createKey({ name: `everything-${word}`, scopes: [word] });
      expect(created.status).toBe(201);
      expect(created.body.scopes).toEqual(["*"]);
    }
    const unknown = await createKey({ name: "typo", scopes: ["cluster:read"] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe("unknown_scope");
    expect(unknown.body.message).toContain("unknown scope(s): cluster:read");
    expect(unknown.body.message).toContain("clusters:read");
    expect(unknown.body.message).toContain("keys:write");
  });

  it("lets only keys:write (or an all-scope key) manage keys, and never beyond its own scopes", async () => {
    const reader = await createKey({ name: "reader", scopes: ["clusters:read"] });
    const denied = await createKey({ name: "x", scopes: ["clusters:read"] }, reader.body.key);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe("insufficient_scope");

    const manager = await createKey({
      name: "key-manager",
      scopes: ["keys:write", "keys:read", "clusters:read"],
    });
    const narrower = await createKey({ name: "narrower", scopes: ["clusters:read"] }, manager.body.key);
    expect(narrower.status).toBe(201);
    for (const scopes of [["*"], ["clusters:write"]]) {
      const escalation = await createKey({ name: "escalation", scopes }, manager.body.key);
      expect(escalation.status, JSON.stringify(scopes)).toBe(403);
      expect(escalation.body.message).toContain("can only grant scopes it holds");
    }
    // Nor may it take over a stronger key by rotating it, or turn it off.
    const rootRow = await first.deps.db.apiKey.findFirstOrThrow({ where: { name: "bootstrap" } });
    for (const [method, url] of [
      ["POST", `/api/v1/api-keys/${rootRow.id}/rotate`],
      ["DELETE", `/api/v1/api-keys/${rootRow.id}`],
    ] as const) {
      const response = await first.app.inject({ method, url, headers: adminHeaders(manager.body.key) });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
    }
    expect(await me(first, root)).toBe(200);
  });

  it("refuses an expiry in the past, and a key stops working when it expires", async () => {
    const past = await createKey({
      name: "late",
      scopes: ["clusters:read"],
      expiresAt: "2020-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    const soon = await createKey({
      name: "short-lived",
      scopes: ["clusters:read"],
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(soon.status).toBe(201);
    expect(await me(first, soon.body.key)).toBe(200);
    await first.deps.db.apiKey.update({
      where: { id: soon.body.id },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    first.deps.apiKeys.invalidateKey(soon.body.id);
    expect(await me(first, soon.body.key)).toBe(401);
  });

  it("revokes a key at once on every API process, idempotently", async () => {
    const victim = await createKey({ name: "to-revoke", scopes: ["clusters:read"] });
    // Both processes have it cached (5 s) before it is revoked.
    expect(await me(first, victim.body.key)).toBe(200);
    expect(await me(second, victim.body.key)).toBe(200);

    const started = Date.now();
    const revoke = () =>
      first.app.inject({
        method: "DELETE",
        url: `/api/v1/api-keys/${victim.body.id}`,
        headers: adminHeaders(root),
      });
    expect((await revoke()).statusCode).toBe(204);
    expect(await me(first, victim.body.key)).toBe(401);
    await eventually(async () => (await me(second, victim.body.key)) === 401);
    // Through pub/sub, well before the 5 s cache lifetime would have dropped it.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await revoke()).statusCode).toBe(204);

    const unknown = await first.app.inject({
      method: "DELETE",
      url: "/api/v1/api-keys/00000000-0000-4000-8000-000000000000",
      headers: adminHeaders(root),
    });
    expect(unknown.statusCode).toBe(404);
  });

  it("rotates: a new key shown once, the old one working for the overlap, then 409 on a second rotation", async () => {
    const original = await createKey({ name: "odoo-prod", scopes: ["clusters:read", "jobs:write"] });
    const rotate = (id: string, payload?: Record<string, unknown>) =>
      first.app.inject({
        method: "POST",
        url: `/api/v1/api-keys/${id}/rotate`,
        headers: adminHeaders(root),
        ...(payload ? { payload } : {}),
      });
    const rotated = await rotate(original.body.id);
    expect(rotated.statusCode, rotated.body).toBe(201);
    const successor = rotated.json();
    expect(successor).toMatchObject({
      name: "odoo-prod",
      scopes: ["clusters:read", "jobs:write"],
      status: "active",
    });
    expect(successor.key).not.toBe(original.body.key);
    const overlap = new Date(successor.previousKeyEndsAt).getTime() - Date.now();
    expect(overlap).toBeGreaterThan(290_000);
    expect(overlap).toBeLessThanOrEqual(300_000);
    expect(await me(first, successor.key)).toBe(200);
    expect(await me(second, original.body.key)).toBe(200);

    const again = await rotate(original.body.id);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: "api_key_rotated" });
    expect(again.json().message).toContain(successor.id);

    // overlapSeconds 0: the old key is revoked at once, everywhere.
    const immediate = await rotate(successor.id, { overlapSeconds: 0 });
    expect(immediate.statusCode).toBe(201);
    expect(await me(first, successor.key)).toBe(401);
    await eventually(async () => (await me(second, successor.key)) === 401);
    expect(await me(second, immediate.json().key)).toBe(200);

    const kinds = (await first.deps.db.auditEntry.findMany({ where: { kind: "ApiKeyRotated" } })).length;
    expect(kinds).toBe(2);
  });

  it("keeps a revoked bootstrap key revoked when the process starts again", async () => {
    const bootstrap = "vwksp-key-bootstrap-revoked-0123456789";
    const { id } = await first.deps.apiKeys.ensureBootstrapKey(bootstrap);
    await first.app.inject({ method: "DELETE", url: `/api/v1/api-keys/${id}`, headers: adminHeaders(root) });
    const again = await first.deps.apiKeys.ensureBootstrapKey(bootstrap);
    expect(again.revokedAt).toBeInstanceOf(Date);
    expect(await me(first, bootstrap)).toBe(401);
  });
});
