import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { withEngine } from "../src/engine.ts";
import { MigrateError, migrateDeploy } from "../src/index.ts";
import { listMigrations, NO_FILTER } from "../src/migrations.ts";
import { dropDatabase, repoPrisma, sql, type TempPrisma, tempPrisma, uniqueName, urlFor } from "./helpers.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function newDatabase(label: string): { name: string; url: string } {
  const name = uniqueName(label);
  cleanups.push(() => dropDatabase(name));
  return { name, url: urlFor(name) };
}

async function scratch(): Promise<TempPrisma> {
  const copy = await tempPrisma();
  cleanups.push(copy.cleanup);
  return copy;
}

async function addMigration(migrationsDir: string, dirName: string, script: string): Promise<void> {
  await mkdir(join(migrationsDir, dirName));
  await writeFile(join(migrationsDir, dirName, "migration.sql"), script);
}

type MigrationRow = {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
};
const migrationRows = (db: string) =>
  sql<MigrationRow>(db, `SELECT * FROM _prisma_migrations ORDER BY migration_name`);

describe("migrateDeploy", () => {
  it("creates a missing database, all tables, and _prisma_migrations rows with Prisma's checksums", async () => {
    const db = newDatabase("fresh");
    const started = performance.now();
    const { applied } = await migrateDeploy(db.url);
    console.info(`migrateDeploy on a fresh database: ${Math.round(performance.now() - started)} ms`);

    const migrationsDir = join(repoPrisma, "migrations");
    const local = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(local.length).toBeGreaterThan(0);
    expect(applied).toEqual(local);

    const schema = await readFile(join(repoPrisma, "schema.prisma"), "utf8");
    const models = [...schema.matchAll(/^model (\w+) \{/gm)].map((m) => m[1]).sort();
    const tables = await sql<{ table_name: string }>(
      db.name,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    expect(tables.map((t) => t.table_name).sort()).toEqual(models);

    const rows = await migrationRows(db.name);
    expect(rows.map((r) => r.migration_name)).toEqual(local);
    for (const row of rows) {
      // Prisma's checksum: SHA-256 (hex) of migration.sql's bytes.
      const file = await readFile(join(migrationsDir, row.migration_name, "migration.sql"));
      expect(row.checksum).toBe(createHash("sha256").update(file).digest("hex"));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
      expect(row.applied_steps_count).toBe(1);
    }

    // What `prisma migrate status` asks the engine: nothing pending, failed or edited.
    const migrationsList = await listMigrations(migrationsDir);
    const status = await withEngine(db.url, undefined, (engine) =>
      engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters: NO_FILTER }),
    );
    expect(status).toMatchObject({ history: null, failedMigrationNames: [], editedMigrationNames: [] });
  });

  it("applies nothing on a second run", async () => {
    const db = newDatabase("twice");
    const first = await migrateDeploy(db.url);
    expect(first.applied.length).toBeGreaterThan(0);
    const before = await migrationRows(db.name);

    await expect(migrateDeploy(db.url)).resolves.toEqual({ applied: [] });
    expect(await migrationRows(db.name)).toEqual(before);
  });

  it("rejects a broken migration, rolls it back, and records it as not finished", async () => {
    const db = newDatabase("broken");
    const copy = await scratch();
    await addMigration(
      copy.migrationsDir,
      "29990101000000_broken",
      `CREATE TABLE "ShouldNotExist" ("id" INTEGER);\nALTER TABLE "NoSuchTable" ADD COLUMN "x" INTEGER;\n`,
    );

    const failure = await migrateDeploy(db.url, copy).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MigrateError);
    expect((failure as Error).message).toMatch(/NoSuchTable/);

    const rows = await migrationRows(db.name);
    const broken = rows.find((r) => r.migration_name === "29990101000000_broken");
    expect(broken).toBeDefined();
    expect(broken?.finished_at).toBeNull();
    expect(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name)).not.toContain(
      "29990101000000_broken",
    );
    // The script ran as one transaction: its first statement was rolled back too.
    expect(await sql(db.name, `SELECT to_regclass('"ShouldNotExist"') AS t`)).toEqual([{ t: null }]);
    // And it stays loud: Prisma refuses to deploy over a failed migration (P3009).
    await expect(migrateDeploy(db.url, copy)).rejects.toThrow(/P3009/);
  });

  it("sends a migration whole, so `;` inside $$ bodies and strings survive", async () => {
    const db = newDatabase("dollar");
    const copy = await scratch();
    await addMigration(
      copy.migrationsDir,
      "29990101000000_function",
      `CREATE FUNCTION answer() RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 'a;b';\nEND;\n$$;\n` +
        `COMMENT ON FUNCTION answer() IS 'semi;colon';\n`,
    );
    const { applied } = await migrateDeploy(db.url, copy);
    expect(applied).toContain("29990101000000_function");
    expect(await sql(db.name, "SELECT answer() AS a")).toEqual([{ a: "a;b" }]);
  });

  it("fails with a clear message when the server is unreachable", async () => {
    await expect(migrateDeploy("postgresql://postgres@127.0.0.1:1/nowhere")).rejects.toThrow(
      /Cannot connect to PostgreSQL at postgresql:\/\/postgres@127\.0\.0\.1:1\/nowhere/,
    );
  });
});
