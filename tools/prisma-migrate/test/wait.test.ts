import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { migrateDeploy, pendingMigrations } from "../src/index.ts";
import { listMigrations } from "../src/migrations.ts";
import { dropDatabase, repoPrisma, sql, uniqueName, urlFor } from "./helpers.ts";

// `cli.ts wait`: what a Kubernetes init container runs so that the API and the worker of a
// release start only once that release's migration Job has applied every migration it ships.

const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function newDatabase(label: string): string {
  const name = uniqueName(label);
  cleanups.push(() => dropDatabase(name));
  return name;
}

function runWait(url: string, timeoutSeconds: number) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", cli, "wait", "--timeout", String(timeoutSeconds)],
    {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { exited, output: () => output };
}

describe("pendingMigrations and `wait`", () => {
  it("lists every migration of the checkout until they are applied, then none", async () => {
    const name = newDatabase("pending");
    const url = urlFor(name);
    await expect(pendingMigrations(url)).rejects.toThrow();
    await sql("postgres", `CREATE DATABASE "${name}"`);
    const all = (await listMigrations(join(repoPrisma, "migrations"))).migrationDirectories.map(
      (d) => d.path,
    );
    expect(all.length).toBeGreaterThan(0);
    expect(await pendingMigrations(url)).toEqual(all);
    await migrateDeploy(url);
    expect(await pendingMigrations(url)).toEqual([]);
  });

  it("waits through a missing database and pending migrations, and exits 0 once they are applied", async () => {
    const url = urlFor(newDatabase("wait"));
    const waiting = runWait(url, 60);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(waiting.output()).toContain("Waiting for migrations (database not reachable");
    await migrateDeploy(url);
    expect(await waiting.exited, waiting.output()).toBe(0);
    expect(waiting.output()).toContain("Every migration is applied.");
  });

  it("gives up with exit 1 after --timeout", async () => {
    const name = newDatabase("timeout");
    await sql("postgres", `CREATE DATABASE "${name}"`);
    const waiting = runWait(urlFor(name), 1);
    expect(await waiting.exited).toBe(1);
    expect(waiting.output()).toMatch(/Gave up after 1 s: pending: \d{14}_/);
  });
});
