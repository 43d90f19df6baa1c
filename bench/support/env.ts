import { randomBytes } from "node:crypto";
import { migrateDeploy } from "@vwksp/prisma-tool";
import { Redis } from "ioredis";
import pg from "pg";
import { type Config, loadConfig } from "../../packages/core/src/index.ts";

// Benches only ever talk to the machine's own services.
const PG_BASE = "postgresql://postgres@127.0.0.1:5432";
export const REDIS_URL = "redis://127.0.0.1:6379";

export const databaseUrl = (name: string) => `${PG_BASE}/${name}`;

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl("postgres") });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Deletes every key under `prefix:` (BullMQ queues, rate-limit counters). */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export interface BenchEnv {
  /** Database name (created and migrated for this run, dropped by `close`). */
  database: string;
  databaseUrl: string;
  /** Redis key prefix of this run (its keys are deleted by `close`). */
  redisPrefix: string;
  /** The service's environment variables for this run. */
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

/** A fresh migrated database and a Redis prefix of this run's own. */
export async function createBenchEnv(name: string): Promise<BenchEnv> {
  const suffix = randomBytes(4).toString("hex");
  const database = `vwksp_bench_${name}_${suffix}`;
  const redisPrefix = `vwb-${name}-${suffix}`;
  const url = databaseUrl(database);
  await migrateDeploy(url);
  let closed = false;
  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: url,
    REDIS_URL,
    REDIS_PREFIX: redisPrefix,
    LOG_LEVEL: "silent",
    ...overrides,
  });
  return {
    database,
    databaseUrl: url,
    redisPrefix,
    env,
    config: (overrides = {}) => loadConfig(env(overrides)),
    async close() {
      if (closed) return;
      closed = true;
      await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
      await deleteRedisKeys(redisPrefix);
    },
  };
}

/** Connections to `database` as PostgreSQL sees them, by state. */
export async function pgConnections(database: string): Promise<{ total: number; byState: string }> {
  return withAdmin(async (client) => {
    const { rows } = await client.query<{ state: string | null; count: string }>(
      "SELECT state, count(*) AS count FROM pg_stat_activity WHERE datname = $1 GROUP BY state ORDER BY state",
      [database],
    );
    const total = rows.reduce((sum, row) => sum + Number(row.count), 0);
    return { total, byState: rows.map((row) => `${row.state ?? "?"}=${row.count}`).join(" ") };
  });
}
