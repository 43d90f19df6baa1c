// PostgreSQL connection helpers: turning a URL into pg settings, and the few statements that
// must run on the server's maintenance database (`postgres`) rather than the target itself.
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { MigrateError } from "./errors.ts";

export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/vwksp";

/** pg settings as separate fields, so that `database` can be overridden reliably. */
export function clientConfig(url: string, database?: string): pg.ClientConfig {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new MigrateError(`The database URL must start with postgresql:// (got "${redact(url)}").`);
  }
  let config: pg.ClientConfig;
  try {
    config = parseIntoClientConfig(url);
  } catch (error) {
    throw new MigrateError(`The database URL is not valid (${(error as Error).message}).`);
  }
  // Never hand pg a connectionString: it would win over the `database` field below (that is how
  // @prisma/adapter-pg's own shadow database ends up being the main database).
  delete config.connectionString;
  // Prisma's `?schema=` sets the search path on its native connections; do the same for pg, so
  // unqualified names in migration scripts land in that schema.
  const schema = schemaParam(url);
  if (schema) config.options = `${config.options ?? ""} -c search_path=${quoteIdent(schema)}`.trim();
  return database === undefined ? config : { ...config, database };
}

export function databaseName(url: string): string {
  const name = clientConfig(url).database;
  if (!name) throw new MigrateError(`The database URL names no database: ${redact(url)}`);
  return name;
}

/** Prisma's `?schema=` URL parameter, if any (the adapter needs it as an option). */
export function schemaParam(url: string): string | undefined {
  try {
    return new URL(url).searchParams.get("schema") ?? undefined;
  } catch {
    return undefined;
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Runs `fn` with a client on the `postgres` database of the server that `url` points to. */
export async function withMaintenanceClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(clientConfig(url, "postgres"));
  // An 'error' event without a listener would crash the process (e.g. server restart).
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    throw unreachable(url, error);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the database named in `url` unless it exists; returns whether it was created. */
export async function ensureDatabase(url: string): Promise<boolean> {
  const name = databaseName(url);
  return withMaintenanceClient(url, async (client) => {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } catch (error) {
      // Someone else created it in between, which is fine: 42P04 duplicate_database, or 23505
      // when both CREATE DATABASE statements ran at once.
      const code = (error as { code?: string }).code;
      if (code === "42P04" || code === "23505") return false;
      throw new MigrateError(`Could not create database "${name}": ${(error as Error).message}`);
    }
    return true;
  });
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withMaintenanceClient(url, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

export function unreachable(url: string, error: unknown): MigrateError {
  const reason = (error as Error).message || String(error);
  return new MigrateError(
    `Cannot connect to PostgreSQL at ${redact(url)} (${reason}). Is the server running and the URL right? ` +
      "Set DATABASE_URL to point elsewhere.",
  );
}
