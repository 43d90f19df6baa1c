// Offline-safe Prisma migrations: the schema engine compiled to WebAssembly
// (@prisma/schema-engine-wasm) driving PostgreSQL through @prisma/adapter-pg, because Prisma 7's
// CLI needs a native schema engine that cannot be downloaded here. What lands in the database
// (`_prisma_migrations`, checksums) is exactly what `prisma migrate deploy` would write.
import pg from "pg";
import {
  clientConfig,
  DEFAULT_DATABASE_URL,
  databaseName,
  ensureDatabase,
  quoteIdent,
  schemaParam,
  withMaintenanceClient,
} from "./connection.ts";
import { withEngine } from "./engine.ts";
import { MigrateError } from "./errors.ts";
import {
  listMigrations,
  migrationSlug,
  NO_FILTER,
  type Paths,
  readSchema,
  resolvePaths,
  timestamp,
  writeMigration,
} from "./migrations.ts";

export { DEFAULT_DATABASE_URL } from "./connection.ts";
export { MigrateError } from "./errors.ts";
export type { Paths } from "./migrations.ts";

export interface ToolOptions extends Paths {
  /** Server used for the temporary shadow database (defaults to DATABASE_URL, then the default URL). */
  databaseUrl?: string;
}

/**
 * Creates the database if needed, then applies pending migrations like `prisma migrate deploy`.
 * Rejects (and records the migration as failed, as Prisma does) when a migration fails.
 */
export async function migrateDeploy(databaseUrl: string, paths: Paths = {}): Promise<{ applied: string[] }> {
  const { schemaPath, migrationsDir } = resolvePaths(paths);
  await ensureDatabase(databaseUrl);
  const migrationsList = await listMigrations(migrationsDir);
  const schema = await readSchema(schemaPath);
  const { appliedMigrationNames } = await withEngine(databaseUrl, schema, (engine) =>
    engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
  ).catch((error: unknown) => {
    if (!(error instanceof MigrateError)) throw error;
    throw new MigrateError(
      `migrate deploy on database "${databaseName(databaseUrl)}" failed: ${error.message} ` +
        "A migration that failed stays recorded in _prisma_migrations with no finished_at, and Prisma " +
        "refuses further deploys until it is marked rolled back (prisma migrate resolve --rolled-back <name>).",
      { cause: error },
    );
  });
  // Belt and braces: never report success unless every local migration is recorded as finished.
  const expected = migrationsList.migrationDirectories.map((d) => d.path);
  await assertAllFinished(databaseUrl, expected);
  return { applied: appliedMigrationNames };
}

/**
 * Compares the migrations folder with schema.prisma, like
 * `prisma migrate diff --from-migrations … --to-schema-datamodel … --exit-code`, replaying the
 * migrations in a temporary shadow database. `script` is the SQL that would bring the migrations
 * up to the schema ("" when in sync).
 */
export async function checkDrift(options: ToolOptions = {}): Promise<{ inSync: boolean; script: string }> {
  const { schemaPath, migrationsDir } = resolvePaths(options);
  const schema = await readSchema(schemaPath);
  const migrationsList = await listMigrations(migrationsDir, { assumeLockfile: true });
  const url = serverUrl(options.databaseUrl);
  // Fail early with a clear message when the server is down (the engine's would be cryptic).
  await withMaintenanceClient(url, async () => {});
  const result = await withEngine(url, schema, (engine) =>
    engine.diff({
      from: { tag: "migrations", ...migrationsList },
      to: { tag: "schemaDatamodel", files: [schema] },
      script: true,
      exitCode: true,
      filters: NO_FILTER,
    }),
  );
  const inSync = result.exitCode === 0;
  return { inSync, script: inSync ? "" : (result.stdout ?? "") };
}

/**
 * Writes `<migrations>/<YYYYMMDDHHMMSS>_<name>/migration.sql` with the SQL that brings the
 * migrations up to schema.prisma (and migration_lock.toml if missing). Returns the file's path,
 * or null when the migrations already match the schema.
 */
export async function createMigration(name: string, options: ToolOptions = {}): Promise<string | null> {
  const slug = migrationSlug(name);
  const { migrationsDir } = resolvePaths(options);
  const { inSync, script } = await checkDrift(options);
  if (inSync) return null;
  return writeMigration(migrationsDir, `${timestamp()}_${slug}`, script);
}

/**
 * The engine needs a "main" connection even for a diff; point it at the server's maintenance
 * database so nothing in the application database is read or touched.
 */
function serverUrl(databaseUrl?: string): string {
  const url = databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  try {
    const parsed = new URL(url);
    parsed.pathname = "/postgres";
    return parsed.toString();
  } catch {
    throw new MigrateError(`The database URL is not valid: ${url}`);
  }
}

/**
 * The local migrations the database has not recorded as applied (all of them before the first
 * deploy). Lets a process wait for the migration step of its own release before it starts.
 */
export async function pendingMigrations(databaseUrl: string, paths: Paths = {}): Promise<string[]> {
  const { migrationsDir } = resolvePaths(paths);
  const expected = (await listMigrations(migrationsDir)).migrationDirectories.map((d) => d.path);
  return missingFrom(databaseUrl, expected);
}

async function missingFrom(databaseUrl: string, expected: string[]): Promise<string[]> {
  if (expected.length === 0) return [];
  const client = new pg.Client(clientConfig(databaseUrl));
  client.on("error", () => {});
  await client.connect();
  try {
    const schema = schemaParam(databaseUrl);
    const table = `${schema ? `${quoteIdent(schema)}.` : ""}_prisma_migrations`;
    const { rows: exists } = await client.query<{ found: string | null }>("SELECT to_regclass($1) AS found", [
      table,
    ]);
    if (!exists[0]?.found) return expected;
    const { rows } = await client.query<{ migration_name: string }>(
      `SELECT migration_name FROM ${table} WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const done = new Set(rows.map((r) => r.migration_name));
    return expected.filter((name) => !done.has(name));
  } finally {
    await client.end().catch(() => {});
  }
}

async function assertAllFinished(databaseUrl: string, expected: string[]): Promise<void> {
  const missing = await missingFrom(databaseUrl, expected);
  if (missing.length) {
    throw new MigrateError(`Migrations not recorded as applied after deploy: ${missing.join(", ")}.`);
  }
}
