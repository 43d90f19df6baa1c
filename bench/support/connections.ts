import { Redis } from "ioredis";
import { pgConnections, REDIS_URL } from "./env.ts";
import { clientPortsOf, serverConnectionsOf } from "./procfs.ts";

export interface ConnectionCounts {
  /** Redis connections per service process, as Redis itself lists them (CLIENT LIST). */
  redis: Record<string, number>;
  redisTotal: number;
  /** PostgreSQL connections per service process (sockets to 5432). */
  postgres: Record<string, number>;
  /** pg_stat_activity for the bench database (every process, the bench's own included). */
  pgActivity: string;
  /** HTTP connections the API process holds open. */
  apiHttp: number;
}

/**
 * Counts connections by owning process: the process's sockets (from /proc) to port 6379 and
 * 5432, cross-checked against Redis's `CLIENT LIST` so only live Redis clients count.
 */
export async function countConnections(
  services: Record<string, number>,
  database: string,
  api: { pid: number; port: number },
): Promise<ConnectionCounts> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let clientList = "";
  try {
    clientList = (await redis.client("LIST")) as string;
  } finally {
    redis.disconnect();
  }
  const listedPorts = new Set(
    clientList
      .split("\n")
      .map((line) => /\baddr=[^ ]*:(\d+)\b/.exec(line)?.[1])
      .filter((port): port is string => port !== undefined)
      .map(Number),
  );
  const redisCounts: Record<string, number> = {};
  const postgres: Record<string, number> = {};
  for (const [name, pid] of Object.entries(services)) {
    redisCounts[name] = clientPortsOf(pid, 6379).filter((port) => listedPorts.has(port)).length;
    postgres[name] = clientPortsOf(pid, 5432).length;
  }
  const activity = await pgConnections(database);
  return {
    redis: redisCounts,
    redisTotal: Object.values(redisCounts).reduce((sum, count) => sum + count, 0),
    postgres,
    pgActivity: `${activity.total} (${activity.byState})`,
    apiHttp: serverConnectionsOf(api.pid, api.port),
  };
}

export const describeCounts = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
