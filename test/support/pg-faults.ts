import pg from "pg";
import { adminUrl } from "./pg-urls.ts";

/**
 * Ends every session on `database` but the caller's own, as a PostgreSQL restart, a failover or
 * an idle-connection reaper does. Only ever the test's own database: other test files share
 * the server.
 */
export async function terminateBackends(database: string): Promise<number> {
  if (!database.startsWith("vwksp_t_")) throw new Error(`refusing to terminate sessions of ${database}`);
  const client = new pg.Client({ connectionString: adminUrl() });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ ended: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS ended
         FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    return rows[0]?.ended ?? 0;
  } finally {
    await client.end();
  }
}
