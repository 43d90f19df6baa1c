import pg from "pg";

/**
 * Messages a person can act on when PostgreSQL or Redis cannot be reached: which server (the URL
 * without its password), why, and what to check.
 */

/** A connection URL for humans: no password, no query (either may carry a secret). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    parsed.search = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(an unparsable URL)";
  }
}

export function postgresUnreachable(url: string, reason: string): string {
  return `Cannot connect to PostgreSQL at ${displayUrl(url)} (${reason}). Is the server running and DATABASE_URL right?`;
}

/** `where`: REDIS_URL, or a description of the sentinels or cluster nodes (no password in it). */
export function redisUnreachable(where: string, reason: string): string {
  const shown = /^rediss?:\/\//.test(where) ? displayUrl(where) : where;
  const settings = /^rediss?:\/\//.test(where)
    ? "REDIS_URL"
    : "REDIS_URL, REDIS_SENTINELS/REDIS_SENTINEL_NAME or REDIS_CLUSTER_NODES";
  return `Redis is unreachable at ${shown} (${reason}). Is the server running and ${settings} right?`;
}

/** The reason PostgreSQL at `url` cannot be used, or null when a query goes through. */
export async function probePostgres(url: string, timeoutMs = 3_000): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {}); // a server going away after connect must not crash the caller
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return connectionReason(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The most telling line of a connection failure (an AggregateError holds one per address). */
export function connectionReason(error: unknown): string {
  const errors = (error as { errors?: unknown[] } | null)?.errors;
  const first = Array.isArray(errors) && errors.length > 0 ? errors[0] : error;
  const message = (first as Error | null)?.message || String(first);
  return message.split("\n")[0] ?? message;
}
