import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import {
  copyFromStage,
  copySources,
  dockerfileStages,
  dockerignore,
  type Stage,
} from "../../../test/support/dockerfile.ts";
import { adminUrl, databaseUrl } from "../../../test/support/pg-urls.ts";
import {
  freePort,
  REPO_ROOT,
  type ServiceProcess,
  startProcess,
  waitForHttp,
} from "../../../test/support/processes.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";

// No Docker engine runs here, so the image's runtime stage is rebuilt by following the
// Dockerfile: each stage's COPY from the build context (through .dockerignore), COPY --from an
// earlier stage, and its `pnpm install`. Then the API, the worker, the migration, the admin key
// command and the agent are started from that tree, against this machine's PostgreSQL and Redis.
// What the Dockerfile forgets to copy, or a production install lacks, fails here.

const work = mkdtempSync(join(tmpdir(), "vwksp-image-"));
const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
const ignored = dockerignore(readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8"));
const stages = dockerfileStages(dockerfile);
/** RUN lines that touch only the image's system (not /app): nothing to rebuild here. */
const SYSTEM_ONLY = [/^npm install -g "pnpm@/, /^mkdir -p \/var\/lib\/vwksp-agent /, /^apt-get update /];

let db: TestDatabase;
/** A database that does not exist yet: the migration creates it (named like the test databases, so leftovers are swept). */
let emptyName = "";
const redis = createTestRedisPrefix();
const running: ServiceProcess[] = [];
let runtimeDir = "";

function copyFromContext(source: string, into: string) {
  const from = join(REPO_ROOT, source);
  cpSync(from, join(into, source.replace(/\/$/, "")), {
    recursive: true,
    filter: (path) => {
      const relative = path.slice(REPO_ROOT.length);
      return relative === "" || !ignored(relative);
    },
  });
}

/** Lays out one stage under `work/<name>/app` (WORKDIR /app) and returns that folder. */
function buildStage(stage: Stage, built: Map<string, string>): string {
  const dir = join(work, stage.name, "app");
  const parent = built.get(stage.from);
  if (parent) cpSync(parent, dir, { recursive: true, verbatimSymlinks: true });
  else mkdirSync(dir, { recursive: true });
  for (const { keyword, args } of stage.instructions) {
    if (keyword === "COPY") {
      const fromStage = copyFromStage(args);
      if (fromStage) {
        const source = built.get(fromStage.from);
        if (!source) throw new Error(`COPY --from=${fromStage.from}: no such stage built`);
        for (const path of fromStage.sources) {
          const inStage = path.replace(/^\/app\/?/, "");
          const target = fromStage.dest === "./" ? dir : join(dir, fromStage.dest);
          const destination = inStage === "" ? target : join(dir, inStage);
          mkdirSync(dirname(destination), { recursive: true });
          cpSync(join(source, inStage), destination, { recursive: true, verbatimSymlinks: true });
        }
      } else {
        for (const source of copySources(args) ?? []) copyFromContext(source, dir);
      }
    } else if (keyword === "RUN") {
      if (SYSTEM_ONLY.some((pattern) => pattern.test(args))) continue;
      if (!/^pnpm install\b/.test(args)) throw new Error(`teach image-runtime.test.ts this RUN: ${args}`);
      const run = spawnSync("pnpm", args.split(/\s+/).slice(1), {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, CI: "true" },
        timeout: 240_000,
      });
      if (run.status !== 0) throw new Error(`${stage.name}: ${args} failed:\n${run.stdout}\n${run.stderr}`);
    }
  }
  built.set(stage.name, dir);
  return dir;
}

beforeAll(async () => {
  const built = new Map<string, string>();
  for (const stage of stages) runtimeDir = buildStage(stage, built);
  db = await createTestDatabase();
  emptyName = `${db.name}_new`;
}, 300_000);

afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
  await redis.cleanup();
  await db?.drop();
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${emptyName}" WITH (FORCE)`);
  await admin.end();
  rmSync(work, { recursive: true, force: true });
});

function start(name: string, entry: string, args: string[], env: Record<string, string>) {
  const started = startProcess(name, entry, args, { NODE_ENV: "production", ...env }, { cwd: runtimeDir });
  running.push(started);
  return started;
}

describe("the image's runtime stage, rebuilt from the Dockerfile", () => {
  it("holds no dev dependency and no test", () => {
    const installed = readdirSync(join(runtimeDir, "node_modules/.pnpm"));
    for (const devOnly of [
      "prisma@",
      "typescript@",
      "vitest@",
      "@biomejs+",
      "turbo@",
      "supertest@",
      "dclint@",
    ]) {
      expect(
        installed.filter((name) => name.startsWith(devOnly)),
        devOnly,
      ).toEqual([]);
    }
    expect(existsSync(join(runtimeDir, "apps/api/test"))).toBe(false);
    expect(existsSync(join(runtimeDir, "node_modules/tsx"))).toBe(true);
    expect(existsSync(join(runtimeDir, "packages/core/src/generated/prisma/client.ts"))).toBe(true);
  });

  it("installs the git CLI and OpenSSH client GitOps mode drives (packages/gitops)", () => {
    const runtime = stages.find((stage) => stage.name === "runtime");
    const installs = (runtime?.instructions ?? [])
      .filter((instruction) => instruction.keyword === "RUN" && instruction.args.includes("apt-get install"))
      .map((instruction) => instruction.args)
      .join(" ");
    expect(installs).toMatch(/--no-install-recommends[^&]*\bgit\b/);
    expect(installs).toMatch(/\bopenssh-client\b/);
    expect(installs).toMatch(/\bca-certificates\b/);
  });

  it("creates and migrates a database that does not exist yet", () => {
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "tools/prisma-migrate/src/cli.ts", "migrate"],
      {
        cwd: runtimeDir,
        env: { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl(emptyName) },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Applied \d+ migration\(s\)/);
  });

  it("serves the API and runs the worker; the admin key command and the agent answer --help", async () => {
    const port = await freePort();
    const key = "vwksp-key-image-runtime-test-0123456789";
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      HOST: "127.0.0.1",
      PORT: String(port),
      BOOTSTRAP_ADMIN_KEY: key,
    };
    const api = start("api", "apps/api/src/server.ts", [], env);
    const worker = start("worker", "apps/worker/src/main.ts", [], env);
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000);
    await worker.waitFor(/worker started/, 60_000);
    const created = await fetch(`http://127.0.0.1:${port}/api/v1/clusters`, {
      method: "POST",
      headers: { ...adminHeaders(key), "content-type": "application/json" },
      body: JSON.stringify({ displayName: "from the image" }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(api.child.exitCode).toBeNull();

    for (const [entry, args] of [
      ["apps/api/scripts/admin-key.ts", ["--help"]],
      ["packages/agent/bin/vwksp-agent.mjs", ["run", "--help"]],
    ] as const) {
      const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
      const run = spawnSync(process.execPath, [...loader, entry, ...args], {
        cwd: runtimeDir,
        env: { PATH: process.env.PATH ?? "", ...env },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.status, `${entry}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("usage:");
    }
  });
});
