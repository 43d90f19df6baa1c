import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrateDeploy } from "@vwksp/prisma-tool";
import pg from "pg";
import type { TestProject } from "vitest/node";
import "./support/db.ts";
import { adminUrl, databaseUrl } from "./support/pg-urls.ts";

const migrationsDir = fileURLToPath(new URL("../prisma/migrations", import.meta.url));

/** The template's name changes whenever a migration does, so a stale template is never used. */
function templateName(): string {
  const hash = createHash("sha256");
  for (const entry of readdirSync(migrationsDir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (!entry.isDirectory()) continue;
    hash.update(entry.name);
    hash.update(readFileSync(join(migrationsDir, entry.name, "migration.sql")));
  }
  return `vwksp_tpl_${hash.digest("hex").slice(0, 12)}`;
}

/**
 * Migrates one template database per migration set; each test file clones it
 * (`CREATE DATABASE … TEMPLATE …`), which takes milliseconds instead of a migration run.
 */
export default async function setup(project: TestProject) {
  const name = templateName();
  const admin = new pg.Client({ connectionString: adminUrl() });
  admin.on("error", () => {});
  await admin.connect();
  try {
    await dropDatabasesOfDeadRuns(admin);
    // Two runs starting together (turbo runs packages in parallel) build the template once.
    await admin.query("SELECT pg_advisory_lock(hashtext('vwksp-test-template'))");
    const existing = await admin.query<{ datistemplate: boolean }>(
      "SELECT datistemplate FROM pg_database WHERE datname = $1",
      [name],
    );
    if (!existing.rows[0]?.datistemplate) {
      if (existing.rows.length > 0) await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
      await migrateDeploy(databaseUrl(name));
      await admin.query(`ALTER DATABASE "${name}" IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }
    await dropOldTemplates(admin, name);
  } finally {
    await admin.query("SELECT pg_advisory_unlock(hashtext('vwksp-test-template'))").catch(() => {});
    await admin.end();
  }
  project.provide("templateDatabase", name);
  project.provide("testRunPid", process.pid);
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Test databases carry the pid of the run that made them (`vwksp_t_<pid>_<random>`); a run that
 * was killed cannot drop its own, so the next run drops those whose process is gone.
 */
async function dropDatabasesOfDeadRuns(admin: pg.Client) {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'vwksp\\_t\\_%'",
  );
  for (const { datname } of rows) {
    const pid = Number(/^vwksp_t_(\d+)_/.exec(datname)?.[1]);
    if (!pid || !isAlive(pid))
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
  }
}

/** Templates of other migration sets kept besides the current one (checkouts of other branches). */
const OTHER_TEMPLATES_KEPT = 8;

/**
 * Drops the templates of older migration sets, keeping the most recently made others (database
 * oids grow with creation), so a run of another checkout beside this one keeps its template.
 */
async function dropOldTemplates(admin: pg.Client, current: string) {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'vwksp\\_tpl\\_%' AND datname <> $1 ORDER BY oid DESC",
    [current],
  );
  for (const { datname } of rows.slice(OTHER_TEMPLATES_KEPT)) {
    await admin
      .query(`ALTER DATABASE "${datname}" IS_TEMPLATE false`)
      .then(() => admin.query(`DROP DATABASE IF EXISTS "${datname}"`))
      .catch(() => {});
  }
}
