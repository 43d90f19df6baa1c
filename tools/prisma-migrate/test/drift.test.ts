import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkDrift, createMigration, migrateDeploy } from "../src/index.ts";
import { dropDatabase, serverUrl, sql, type TempPrisma, tempPrisma, uniqueName, urlFor } from "./helpers.ts";

const shadowDatabases = async () =>
  (
    await sql<{ datname: string }>(
      "postgres",
      `SELECT datname FROM pg_database WHERE datname LIKE 'prisma_shadow_%'`,
    )
  ).map((r) => r.datname);

let copy: TempPrisma;
let shadowsBefore: string[];
beforeAll(async () => {
  shadowsBefore = await shadowDatabases();
});
afterEach(async () => {
  await copy?.cleanup();
});
afterAll(async () => {
  // Every shadow database the tool created was dropped again.
  const leftover = (await shadowDatabases()).filter((n) => !shadowsBefore.includes(n));
  expect(leftover).toEqual([]);
});

/** Adds a field to the Organization model of the scratch schema. */
async function addField(schemaPath: string): Promise<void> {
  const schema = await readFile(schemaPath, "utf8");
  const changed = schema.replace(/(model Organization \{\n)/, "$1  nickname  String?\n");
  expect(changed).not.toBe(schema);
  await writeFile(schemaPath, changed);
}

describe("checkDrift", () => {
  it("says the committed migrations are in sync with schema.prisma", async () => {
    await expect(checkDrift({ databaseUrl: serverUrl })).resolves.toEqual({ inSync: true, script: "" });
  });

  it("reports drift for a schema with an extra field, using a separate shadow database", async () => {
    copy = await tempPrisma();
    await addField(copy.schemaPath);
    const { inSync, script } = await checkDrift({ ...copy, databaseUrl: serverUrl });
    expect(inSync).toBe(false);
    expect(script).toContain(`ALTER TABLE "Organization" ADD COLUMN     "nickname" TEXT;`);
    // The migrations were replayed in the shadow, not in the engine's main (maintenance) database.
    expect(await sql("postgres", `SELECT to_regclass('"Organization"') AS t`)).toEqual([{ t: null }]);
  });
});

describe("createMigration", () => {
  it("writes <timestamp>_<name>/migration.sql that brings the migrations up to the schema", async () => {
    copy = await tempPrisma();
    const options = { ...copy, databaseUrl: serverUrl };
    await expect(createMigration("nothing", options)).resolves.toBeNull();

    await addField(copy.schemaPath);
    const file = await createMigration("add nickname", options);
    expect(file).toMatch(/[/\\]\d{14}_add_nickname[/\\]migration\.sql$/);
    expect(await readFile(file as string, "utf8")).toContain(`ADD COLUMN     "nickname" TEXT`);
    await expect(checkDrift(options)).resolves.toEqual({ inSync: true, script: "" });

    // And the new history deploys.
    const db = uniqueName("created");
    try {
      const { applied } = await migrateDeploy(urlFor(db), copy);
      const dirs = (await readdir(copy.migrationsDir, { withFileTypes: true })).filter((e) =>
        e.isDirectory(),
      );
      expect(applied).toHaveLength(dirs.length);
      expect(await sql(db, `SELECT "nickname" FROM "Organization"`)).toEqual([]);
    } finally {
      await dropDatabase(db);
    }
  });

  it("writes migration_lock.toml for a first migration, as Prisma does", async () => {
    copy = await tempPrisma();
    const empty = join(copy.migrationsDir, "..", "empty-migrations");
    const file = await createMigration("init", {
      schemaPath: copy.schemaPath,
      migrationsDir: empty,
      databaseUrl: serverUrl,
    });
    expect(file).toMatch(/_init[/\\]migration\.sql$/);
    expect(await readFile(join(empty, "migration_lock.toml"), "utf8")).toBe(
      await readFile(join(copy.migrationsDir, "migration_lock.toml"), "utf8"),
    );
  });
});
