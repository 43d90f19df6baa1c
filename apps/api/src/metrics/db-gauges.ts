import { type Clock, cachedRead, type Db, gauge, scrapeReads } from "@vwksp/core";
import { OPEN_JOB_STATES } from "@vwksp/protocol";
import type { FastifyBaseLogger } from "fastify";
import type { Registry } from "prom-client";

/** The open job states: the only ones counted (the index on Job(state, …) finds them). */
const CLUSTER_STATUSES = ["pending", "connected", "disconnected", "disabled"] as const;
/** JobChannelHealthy=False reasons (health/job-channel.ts), listed even at 0. */
const JOB_CHANNEL_REASONS = [
  "NoRecentPoll",
  "PollingWithRotatedCredential",
  "PollingWithRevokedCredential",
  "PollingWithExpiredCredential",
  "JobsUndelivered",
] as const;
/** How long the counts are reused: a scrape every few seconds costs one query per 10 s. */
const DB_CACHE_MS = 10_000;
const DB_TIMEOUT_MS = 2_000;

/**
 * The counts in one round trip. `state IN (…open…)` reads the index on Job(state, leaseExpiresAt)
 * rather than the whole table (terminal jobs pile up by the million, open ones do not); the
 * Cluster table is small.
 */
const DB_GAUGES_SQL = `
  SELECT 'job' AS kind, state::text AS label, count(*)::float8 AS n
    FROM "Job" WHERE state IN (${OPEN_JOB_STATES.map((state) => `'${state}'`).join(", ")}) GROUP BY state
  UNION ALL
  SELECT 'cluster' AS kind, status::text AS label, count(*)::float8 AS n FROM "Cluster" GROUP BY status
  UNION ALL
  SELECT 'job_channel' AS kind, "jobChannel"->>'reason' AS label, count(*)::float8 AS n
    FROM "Cluster" WHERE "jobChannel"->>'status' = 'False' GROUP BY 2`;

type Counts = { jobs: Map<string, number>; clusters: Map<string, number>; jobChannels: Map<string, number> };

/**
 * Open jobs and clusters by state from PostgreSQL — the job channel's health at a glance. Read
 * before each scrape is serialized (`refresh`), cached 10 s by the deps' clock; when the read
 * fails the families are left empty for that scrape and the failure is counted.
 */
export function registerDbGauges(registry: Registry, deps: { db: Db; clock: Clock }) {
  const jobs = gauge(registry, {
    name: "vwksp_jobs",
    help: "Open jobs (queued, ready, leased, acked) by state; cached up to 10 s.",
    labelNames: ["state"],
  });
  const clusters = gauge(registry, {
    name: "vwksp_clusters",
    help: "Clusters by status; cached up to 10 s.",
    labelNames: ["status"],
  });
  const jobChannels = gauge(registry, {
    name: "vwksp_clusters_job_channel_unhealthy",
    help: "Clusters whose job channel is broken (JobChannelHealthy=False), by reason; cached up to 10 s.",
    labelNames: ["reason"],
  });
  const scrapes = scrapeReads(
    registry,
    "Scrapes whose PostgreSQL gauges (vwksp_jobs, vwksp_clusters) could not be read and were left out.",
  );

  const read = cachedRead(
    async (): Promise<Counts> => {
      // Server-side limit too, so a slow count does not hold a connection after the scrape gave up.
      const [, rows] = await deps.db.$transaction([
        deps.db.$executeRawUnsafe(`SET LOCAL statement_timeout = '${DB_TIMEOUT_MS}ms'`),
        deps.db.$queryRawUnsafe<{ kind: string; label: string; n: number }[]>(DB_GAUGES_SQL),
      ]);
      const counts: Counts = {
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
    },
    { ttlMs: DB_CACHE_MS, timeoutMs: DB_TIMEOUT_MS + 500, now: () => deps.clock.now().getTime() },
  );

  return {
    async refresh(log: FastifyBaseLogger) {
      jobs.reset();
      clusters.reset();
      jobChannels.reset();
      await scrapes.attempt(log, "metrics: could not read job and cluster counts", async () => {
        const counts = await read();
        for (const [state, count] of counts.jobs) jobs.set({ state }, count);
        for (const [status, count] of counts.clusters) clusters.set({ status }, count);
        for (const [reason, count] of counts.jobChannels) jobChannels.set({ reason }, count);
      });
    },
  };
}
