import { type Clock, cachedRead, type Db, gauge, readStateCounts, scrapeReads } from "@vwksp/core";
import type { FastifyBaseLogger } from "fastify";
import type { Registry } from "prom-client";

/** How long the counts are reused: a scrape every few seconds costs one query per 10 s. */
const DB_CACHE_MS = 10_000;
const DB_TIMEOUT_MS = 2_000;

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

  const read = cachedRead(() => readStateCounts(deps.db, DB_TIMEOUT_MS), {
    ttlMs: DB_CACHE_MS,
    timeoutMs: DB_TIMEOUT_MS + 500,
    now: () => deps.clock.now().getTime(),
  });

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
