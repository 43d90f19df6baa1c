import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export type Db = PrismaClient;

/**
 * The pool behind each client made here, which hot-path statements use directly (see
 * `prepared`). A property rather than a WeakMap, so wrappers of the client (a Proxy) find it too.
 */
const POOL = Symbol("vwksp.pgPool");
const poolOf = (db: Db) => (db as unknown as { [POOL]?: pg.Pool })[POOL];

/** Prisma client on the pg driver adapter (no native query engine is needed). */
export function createDb(databaseUrl: string, options: { poolSize?: number } = {}): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    // A dead database must fail requests quickly (503), not hang them.
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  Object.defineProperty(db, POOL, { value: pool });
  return db;
}

/** Disconnects Prisma and ends the pool under it (the adapter leaves a pool it was given open). */
export async function closeDb(db: Db): Promise<void> {
  await db.$disconnect();
  const pool = poolOf(db);
  if (pool && !pool.ended) await pool.end();
}

// Columns are `timestamp(3)` holding UTC (Prisma's convention): read them as UTC whatever the
// server's or this process's time zone.
const TIMESTAMP_OID = 1114;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID
      ? (value: string) => new Date(`${value.replace(" ", "T")}Z`)
      : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/**
 * Runs a hot-path statement as a named prepared statement: PostgreSQL plans it once per
 * connection instead of on every call (measured: 400 → 110 µs for the claim statement).
 * Parameters are positional ($1, $2, …); pass timestamps as ISO strings. A client that was not
 * made by createDb (a test double) falls back to Prisma's raw query.
 */
export async function prepared<T>(db: Db, name: string, text: string, values: unknown[]): Promise<T[]> {
  const pool = poolOf(db);
  if (!pool) return db.$queryRawUnsafe<T[]>(text, ...values);
  const result = await pool.query({ name, text, values, types });
  return result.rows as T[];
}

export type * from "./generated/prisma/client.ts";
export { Prisma } from "./generated/prisma/client.ts";
