import pg from "pg";
import { databaseUrl } from "./env.ts";

// PostgreSQL's own counters for one database: transactions, tuples written, per-table updates,
// and the WAL position. PostgreSQL 15 backends publish their counters when they go idle, at most
// once a second, so a delta is exact to about a second at each end; take both snapshots while
// the load is steady and the lag cancels out.

export interface TableCounters {
  /** Rows updated (n_tup_upd), of which HOT (no index entry written), rows inserted. */
  updated: number;
  hotUpdated: number;
  inserted: number;
  /** Index scans and sequential scans started on the table. */
  indexScans: number;
  seqScans: number;
}

export interface PgCounters {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** WAL position of the whole server, in bytes (other databases write WAL too). */
  walBytes: number;
  tables: Record<string, TableCounters>;
}

/** Two connections that read the counters: one to `postgres` (so that reading `pg_stat_database`
 *  adds no transaction to the measured database), one to the database for its tables. */
export async function openPgCounters(database: string, tables: string[]) {
  const admin = new pg.Client({ connectionString: databaseUrl("postgres") });
  const local = new pg.Client({ connectionString: databaseUrl(database) });
  for (const client of [admin, local]) client.on("error", () => {});
  await Promise.all([admin.connect(), local.connect()]);

  async function snapshot(): Promise<PgCounters> {
    const [server, perTable] = await Promise.all([
      admin.query<Record<string, string>>(
        `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,
                (pg_current_wal_lsn() - '0/0'::pg_lsn)::float8 AS wal
         FROM pg_stat_database WHERE datname = $1`,
        [database],
      ),
      local.query<Record<string, string>>(
        `SELECT relname, n_tup_upd, n_tup_hot_upd, n_tup_ins, coalesce(idx_scan, 0) AS idx_scan, seq_scan
         FROM pg_stat_user_tables WHERE relname = ANY($1::text[])`,
        [tables],
      ),
    ]);
    const row = server.rows[0] ?? {};
    return {
      commits: Number(row.xact_commit),
      rollbacks: Number(row.xact_rollback),
      inserted: Number(row.tup_inserted),
      updated: Number(row.tup_updated),
      deleted: Number(row.tup_deleted),
      walBytes: Number(row.wal),
      tables: Object.fromEntries(
        perTable.rows.map((table) => [
          table.relname as string,
          {
            updated: Number(table.n_tup_upd),
            hotUpdated: Number(table.n_tup_hot_upd),
            inserted: Number(table.n_tup_ins),
            indexScans: Number(table.idx_scan),
            seqScans: Number(table.seq_scan),
          },
        ]),
      ),
    };
  }

  return {
    snapshot,
    /** A query in the measured database (counts as one of its transactions). */
    query: <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
      local.query<T>(text, values),
    async close() {
      await Promise.allSettled([admin.end(), local.end()]);
    },
  };
}

/** `after - before`, table by table. */
export function pgDelta(before: PgCounters, after: PgCounters): PgCounters {
  const tables: Record<string, TableCounters> = {};
  for (const [name, table] of Object.entries(after.tables)) {
    const earlier = before.tables[name];
    tables[name] = {
      updated: table.updated - (earlier?.updated ?? 0),
      hotUpdated: table.hotUpdated - (earlier?.hotUpdated ?? 0),
      inserted: table.inserted - (earlier?.inserted ?? 0),
      indexScans: table.indexScans - (earlier?.indexScans ?? 0),
      seqScans: table.seqScans - (earlier?.seqScans ?? 0),
    };
  }
  return {
    commits: after.commits - before.commits,
    rollbacks: after.rollbacks - before.rollbacks,
    inserted: after.inserted - before.inserted,
    updated: after.updated - before.updated,
    deleted: after.deleted - before.deleted,
    walBytes: after.walBytes - before.walBytes,
    tables,
  };
}
