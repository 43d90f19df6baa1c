import { spawnSync } from "node:child_process";
import { API_KEY_SCOPES } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey } from "../../../test/support/fixtures.ts";
import { REPO_ROOT } from "../../../test/support/processes.ts";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let platformKey: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  platformKey = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const createOrganization = (key: string, payload: Record<string, unknown>) =>
  harness.app.inject({ method: "POST", url: "/api/v1/organizations", headers: adminHeaders(key), payload });

const listOrganizations = (key: string) =>
  harness.app.inject({ url: "/api/v1/organizations", headers: adminHeaders(key) });

const script = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: env.db.url },
    encoding: "utf8",
    timeout: 30_000,
  });

describe("GET/POST /api/v1/organizations", () => {
  it("creates and lists organizations with a platform:admin key (the bootstrap * key has it)", async () => {
    const created = await createOrganization(platformKey, { slug: "acme", name: "Acme Inc." });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ id: expect.any(String), slug: "acme", name: "Acme Inc." });

    const listed = await listOrganizations(platformKey);
    expect(listed.statusCode).toBe(200);
    expect((listed.json().items as { slug: string }[]).map((item) => item.slug)).toEqual(
      expect.arrayContaining(["acme", "default"]),
    );
    const [audit] = await harness.deps.db.auditEntry.findMany({ where: { kind: "OrganizationCreated" } });
    expect(audit).toMatchObject({ organizationId: created.json().id, data: { slug: "acme" } });
  });

  it("refuses a taken slug with 409 and a bad one with 400", async () => {
    await createOrganization(platformKey, { slug: "taken", name: "First" });
    const again = await createOrganization(platformKey, { slug: "taken", name: "Second" });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: "organization_exists", requestId: expect.any(String) });
    for (const payload of [
      { slug: "Not A Slug", name: "x" },
      { slug: "ok" },
      { slug: "x".repeat(64), name: "x" },
    ]) {
      expect((await createOrganization(platformKey, payload)).statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it("is closed to an organization's keys, whatever else they may do", async () => {
    const organization = await harness.deps.db.organization.findFirstOrThrow({ where: { slug: "default" } });
    const { key } = await harness.deps.apiKeys.create({
      organizationId: organization.id,
      name: "org-admin",
      scopes: API_KEY_SCOPES.filter((scope) => scope !== "platform:admin"),
    });
    for (const response of [
      await listOrganizations(key),
      await createOrganization(key, { slug: "mine", name: "x" }),
    ]) {
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ error: "insufficient_scope" });
    }
  });
});

describe("pnpm admin:org", () => {
  it("creates an organization that admin:key can then give a key", async () => {
    const created = script(
      "apps/api/scripts/admin-org.ts",
      "create",
      "--slug",
      "globex",
      "--name",
      "Globex Corp",
    );
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain("created organization globex");
    const stored = await harness.deps.db.organization.findUniqueOrThrow({ where: { slug: "globex" } });
    expect(stored.name).toBe("Globex Corp");

    const listed = script("apps/api/scripts/admin-org.ts", "list");
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^globex\\t${stored.id}\\tGlobex Corp$`, "m"));

    const key = script(
      "apps/api/scripts/admin-key.ts",
      "create",
      "--organization",
      "globex",
      "--name",
      "globex-odoo",
      "--scopes",
      "clusters:read",
    );
    expect(key.status, key.stderr).toBe(0);
    const principal = await harness.deps.apiKeys.authenticate(
      key.stdout.match(/^vwksp-key-\S+$/m)?.[0] ?? "",
    );
    expect(principal?.organizationId).toBe(stored.id);
  });

  it("exits 1 on a taken slug and 2 with the usage on bad arguments", () => {
    const taken = script("apps/api/scripts/admin-org.ts", "create", "--slug", "globex", "--name", "Again");
    expect(taken.status).toBe(1);
    expect(taken.stderr).toContain("exists already");
    const badSlug = script("apps/api/scripts/admin-org.ts", "create", "--slug", "Bad Slug", "--name", "x");
    expect(badSlug.status).toBe(2);
    expect(badSlug.stderr).toContain("--slug");
    const noCommand = script("apps/api/scripts/admin-org.ts");
    expect(noCommand.status).toBe(2);
    expect(noCommand.stderr).toContain("usage: pnpm admin:org create");
  });
});
