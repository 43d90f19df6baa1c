import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { REPO_ROOT } from "../../../test/support/processes.ts";

// `pnpm admin:key list|create|revoke|rotate`, its --help, and its errors, as a person runs it.

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

function adminKeyCli(args: string[], extraEnv: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ["--import", "tsx", "apps/api/scripts/admin-key.ts", ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: env.db.url,
      REDIS_URL: env.redis.url,
      REDIS_PREFIX: env.redis.prefix,
      ...extraEnv,
    },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const printedKey = (stdout: string) => stdout.match(/^vwksp-key-[0-9a-f]{48}$/m)?.[0] ?? "";
const me = (key: string) =>
  harness.app
    .inject({ url: "/api/v1/me", headers: adminHeaders(key) })
    .then((response) => response.statusCode);

describe("pnpm admin:key", () => {
  it("--help prints the commands, the scopes and exits 0", () => {
    for (const args of [["rotate", "--help"]]) {
      const run = adminKeyCli(args);
      expect(run.status, args.join(" ")).toBe(0);
      for (const word of ["list", "create", "revoke", "rotate", "--scopes", "all (or *)", "keys:write"]) {
        expect(run.stdout).toContain(word);
      }
    }
  });

  it("create prints a new key once; it works and only its hash is stored", async () => {
    const run = adminKeyCli(["create", "--name", "odoo-module", "--scopes", "clusters:read,jobs:write"]);
    expect(run.status, run.stderr).toBe(0);
    const key = printedKey(run.stdout);
    expect(key).not.toBe("");
    expect(run.stdout).toContain('"odoo-module"');
    const principal = await harness.deps.apiKeys.authenticate(key);
    expect(principal?.scopes).toEqual(["clusters:read", "jobs:write"]);
    const stored = await harness.deps.db.apiKey.findMany({ where: { name: "odoo-module" } });
    expect(JSON.stringify(stored)).not.toContain(key.slice(10));
  });

  it("takes --scopes all, and lists the valid scopes for an unknown one (exit 2)", async () => {
    const all = adminKeyCli(["create", "--name", "everything", "--scopes", "all"]);
    expect(all.status, all.stderr).toBe(0);
    expect((await harness.deps.apiKeys.authenticate(printedKey(all.stdout)))?.scopes).toEqual(["*"]);

    const unknown = adminKeyCli(["create", "--name", "x", "--scopes", "root,clusters:read"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown scope(s): root; valid scopes: all (or *), clusters:read");
    expect(unknown.stderr).toContain("usage: pnpm admin:key");
  });

  it("lists keys without secrets, revokes at once on a running API, and rotates", async () => {
    const created = adminKeyCli(["create", "--name", "to-rotate", "--scopes", "clusters:read"]);
    const key = printedKey(created.stdout);
    const id = created.stdout.match(/created API key ([0-9a-f-]{36})/)?.[1] ?? "";
    expect(await me(key)).toBe(200); // cached by the running API from now on

    const list = adminKeyCli(["list"]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+SCOPES\s+STATUS/m);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+to-rotate\\s+clusters:read\\s+active`));
    expect(list.stdout).not.toContain(key.slice(10));

    const rotated = adminKeyCli(["rotate", id, "--overlap", "0"]);
    expect(rotated.status, rotated.stderr).toBe(0);
    const successor = printedKey(rotated.stdout);
    expect(successor).not.toBe(key);
    expect(rotated.stdout).toContain("the old key stops working at");
    await eventually(async () => (await me(key)) === 401, 3_000);
    expect(await me(successor)).toBe(200);

    const successorId = (await harness.deps.apiKeys.authenticate(successor))?.keyId ?? "";
    const revoked = adminKeyCli(["revoke", successorId]);
    expect(revoked.status, revoked.stderr).toBe(0);
    await eventually(async () => (await me(successor)) === 401, 3_000);
  });

  it("answers a mistyped command or key ID with the usage (exit 2), before touching the database", () => {
    const run = adminKeyCli(["revoke", "odoo-module"], {
      DATABASE_URL: "postgresql://postgres@127.0.0.1:1/vwksp",
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('"odoo-module" is not a key ID (a UUID, as `list` shows it)');
    expect(run.stderr).toContain("usage: pnpm admin:key");
  });

  it("says it cannot connect to PostgreSQL, without a stack trace, when the database is away", () => {
    const run = adminKeyCli(["list"], { DATABASE_URL: "postgresql://postgres:hunter2@127.0.0.1:1/vwksp" });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      "admin:key: Cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:1/vwksp (connect ECONNREFUSED 127.0.0.1:1). Is the server running and DATABASE_URL right?",
    );
  });
});
