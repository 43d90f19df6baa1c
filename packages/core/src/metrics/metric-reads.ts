import { OPEN_JOB_STATES } from "@vwksp/protocol";
import type { Db } from "../db.ts";
import { SYNC_STATE_ID } from "../odoo-sync/model-fields.ts";

// What the metrics endpoints read from PostgreSQL at scrape time; the apps cache and publish it.

const CLUSTER_STATUSES = ["pending", "connected", "disconnected", "disabled"] as const;
/** JobChannelHealthy=False reasons (health/job-channel.ts), listed even at 0. */
const JOB_CHANNEL_REASONS = [
  "NoRecentPoll",
  "PollingWithRotatedCredential",
  "PollingWithRevokedCredential",
  "PollingWithExpiredCredential",
  "JobsUndelivered",
] as const;

/**
 * The counts in one round trip. `state IN (…open…)` reads the index on Job(state, leaseExpiresAt)
 * rather than the whole table (terminal jobs pile up by the million, open ones do not); the
 * Cluster table is small.
 */
const STATE_COUNTS_SQL = `
  SELECT 'job' AS kind, state::text AS label, count(*)::float8 AS n
    FROM "Job" WHERE state IN (${OPEN_JOB_STATES.map((state) => `'${state}'`).join(", ")}) GROUP BY state
  UNION ALL
  SELECT 'cluster' AS kind, status::text AS label, count(*)::float8 AS n FROM "Cluster" GROUP BY status
  UNION ALL
  SELECT 'job_channel' AS kind, "jobChannel"->>'reason' AS label, count(*)::float8 AS n
    FROM "Cluster" WHERE "jobChannel"->>'status' = 'False' GROUP BY 2`;

export interface StateCounts {
  /** Open jobs by state (every open state, 0 included). */
  jobs: Map<string, number>;
  /** Clusters by status (every status, 0 included). */
  clusters: Map<string, number>;
  /** Clusters whose job channel is broken, by reason (every known reason, 0 included). */
  jobChannels: Map<string, number>;
}

/** Open jobs, clusters and broken job channels, with a server-side time limit of `timeoutMs`. */
export async function readStateCounts(db: Db, timeoutMs: number): Promise<StateCounts> {
  // Server-side limit too, so a slow count does not hold a connection after the scrape gave up.
  const [, rows] = await db.$transaction([
    db.$executeRawUnsafe(`SET LOCAL statement_timeout = '${Math.round(timeoutMs)}ms'`),
    db.$queryRawUnsafe<{ kind: string; label: string; n: number }[]>(STATE_COUNTS_SQL),
  ]);
  const counts: StateCounts = {
    jobs: new Map(OPEN_JOB_STATES.map((state) => [state, 0])),
    clusters: new Map(CLUSTER_STATUSES.map((status) => [status, 0])),
    jobChannels: new Map(JOB_CHANNEL_REASONS.map((reason) => [reason, 0])),
  };
  const byKind: Record<string, Map<string, number>> = {
    job: counts.jobs,
    cluster: counts.clusters,
    job_channel: counts.jobChannels,
  };
  for (const row of rows) byKind[row.kind]?.set(row.label, Number(row.n));
  return counts;
}

const earliest = (a: Date, b: Date) => (a < b ? a : b);

/**
 * The Odoo bridge's sync state, with `lastPullAt` the earliest of its models' last pulls (the lag
 * that matters is the model pulled least recently; null until every model was pulled once).
 */
export async function readOdooSyncProgress(db: Db) {
  const [state, cursors] = await Promise.all([
    db.odooSyncState.findUnique({ where: { id: SYNC_STATE_ID } }),
    db.odooCursor.findMany({ select: { lastPullAt: true } }),
  ]);
  const pulls = cursors.map((cursor) => cursor.lastPullAt);
  const lastPullAt = pulls.length === 0 || pulls.includes(null) ? null : (pulls as Date[]).reduce(earliest);
  return state && { ...state, lastPullAt };
}

/** Resolves when PostgreSQL answers a trivial query (the readiness probe). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRawUnsafe("SELECT 1");
}
