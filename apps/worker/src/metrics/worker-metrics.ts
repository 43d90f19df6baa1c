import {
  type Clock,
  cachedRead,
  counter,
  createMetricsRegistry,
  type Db,
  gauge,
  histogram,
  jobsFinishedCounter,
  type Logger,
  readOdooSyncProgress,
  scrapeReads,
} from "@vwksp/core";
import { QUEUE_NAMES, type Queues } from "@vwksp/queue";
import type { Registry } from "prom-client";

/** BullMQ states shown per queue; completed and failed are the kept (trimmed) histories. */
export const QUEUE_STATES = ["wait", "prioritized", "active", "delayed", "failed", "completed"] as const;
/** Queue reads are reused this long: every worker replica and every scrape would repeat them. */
const QUEUE_CACHE_MS = 5_000;
const ODOO_CACHE_MS = 10_000;
const READ_TIMEOUT_MS = 2_000;

const seconds = (date: Date | null | undefined) => (date ? date.getTime() / 1000 : 0);

interface QueueSnapshot {
  counts: Record<string, number>;
  oldestWaitingMs: number | undefined;
}

/**
 * The worker process's Prometheus metrics: BullMQ queue depth and age (read from Redis at scrape
 * time, cached), outcomes and durations of the jobs this process ran, jobs the sweep closed, and
 * what the Odoo sync state records (PostgreSQL, cached).
 */
export function createWorkerMetrics(deps: { db: Db; clock: Clock; queues: Queues; odooEnabled: boolean }) {
  const { registry, collectProcessMetrics } = createMetricsRegistry();
  const now = () => deps.clock.now().getTime();

  const queueJobs = gauge(registry, {
    name: "vwksp_queue_jobs",
    help: "BullMQ jobs per queue and state (wait, prioritized, active, delayed, failed, completed); cached up to 5 s.",
    labelNames: ["queue", "state"],
  });
  const oldestWaiting = gauge(registry, {
    name: "vwksp_queue_oldest_waiting_seconds",
    help: "Age of the oldest job waiting in each BullMQ queue (0 when none waits); cached up to 5 s.",
    labelNames: ["queue"],
  });
  const jobsRun = counter(registry, {
    name: "vwksp_worker_jobs_total",
    help: "BullMQ jobs this worker ran, by queue, job name and outcome (completed, failed); a retry counts again.",
    labelNames: ["queue", "name", "outcome"],
  });
  const jobDuration = histogram(registry, {
    name: "vwksp_worker_job_duration_seconds",
    help: "Processing time of the BullMQ jobs this worker ran, by queue.",
    labelNames: ["queue"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const jobsFinished = jobsFinishedCounter(registry);
  const scrapes = scrapeReads(
    registry,
    "Scrapes whose queue or Odoo gauges could not be read and were left out.",
  );

  const readQueues = cachedRead(
    () =>
      Promise.all(
        QUEUE_NAMES.map(async (name): Promise<[string, QueueSnapshot]> => {
          const queue = deps.queues.queue(name);
          const [counts, oldest] = await Promise.all([
            queue.getJobCounts(...QUEUE_STATES),
            queue.getJobs(["wait"], 0, 0, true),
          ]);
          return [name, { counts, oldestWaitingMs: oldest[0]?.timestamp }];
        }),
      ),
    { ttlMs: QUEUE_CACHE_MS, timeoutMs: READ_TIMEOUT_MS, now },
  );

  const odoo = deps.odooEnabled ? registerOdooGauges(registry) : undefined;
  // Pulls are per Odoo model: the lag that matters is the model pulled least recently.
  const readOdoo = cachedRead(() => readOdooSyncProgress(deps.db), {
    ttlMs: ODOO_CACHE_MS,
    timeoutMs: READ_TIMEOUT_MS,
    now,
  });

  async function refreshQueues(log: Logger) {
    queueJobs.reset();
    oldestWaiting.reset();
    await scrapes.attempt(log, "metrics: could not read the queues", async () => {
      for (const [queue, snapshot] of await readQueues()) {
        for (const state of QUEUE_STATES) queueJobs.set({ queue, state }, snapshot.counts[state] ?? 0);
        const age = snapshot.oldestWaitingMs === undefined ? 0 : (now() - snapshot.oldestWaitingMs) / 1000;
        oldestWaiting.set({ queue }, Math.max(0, age));
      }
    });
  }

  async function refreshOdoo(log: Logger) {
    if (!odoo) return;
    await scrapes.attempt(log, "metrics: could not read the Odoo sync state", async () =>
      odoo.show(await readOdoo()),
    );
  }

  return {
    registry,
    /** The runtime's hook: one finished BullMQ job. */
    jobDone(queue: string, name: string, outcome: "completed" | "failed", durationMs: number | undefined) {
      jobsRun.inc({ queue, name, outcome });
      if (durationMs !== undefined) jobDuration.observe({ queue }, durationMs / 1000);
    },
    /** Jobs a sweep closed (the maintenance processor's result). */
    jobsClosed(counts: { expired: number; undeliverable: number }) {
      jobsFinished.inc({ outcome: "expired" }, counts.expired);
      jobsFinished.inc({ outcome: "undeliverable" }, counts.undeliverable);
    },
    async scrape(log: Logger): Promise<string> {
      await Promise.all([refreshQueues(log), refreshOdoo(log)]);
      return registry.metrics();
    },
    /** CPU, memory, event loop, GC: only where the process is scraped (it starts a sampler). */
    collectProcessMetrics,
  };
}

/** What the Odoo sync state row records; the lag is `time() - …last_pull_timestamp_seconds`. */

function registerOdooGauges(registry: Registry) {
  const lastPull = gauge(registry, {
    name: "vwksp_odoo_sync_last_pull_timestamp_seconds",
    help: "When the Odoo model pulled least recently was last pulled (Unix seconds; 0: never).",
  });
  const lastPush = gauge(registry, {
    name: "vwksp_odoo_sync_last_push_timestamp_seconds",
    help: "When the last push to Odoo succeeded (Unix seconds; 0: never).",
  });
  const lastError = gauge(registry, {
    name: "vwksp_odoo_sync_last_error_timestamp_seconds",
    help: "When the Odoo sync last failed (Unix seconds; 0: no error since the last success).",
  });
  const failing = gauge(registry, {
    name: "vwksp_odoo_sync_failing",
    help: "1 while the Odoo sync's last attempt failed (GET /api/v1/odoo/status says why), else 0.",
  });
  return {
    show(
      state: {
        lastPullAt: Date | null;
        lastPushAt: Date | null;
        lastError: string | null;
        lastErrorAt: Date | null;
      } | null,
    ) {
      lastPull.set(seconds(state?.lastPullAt));
      lastPush.set(seconds(state?.lastPushAt));
      lastError.set(state?.lastError ? seconds(state.lastErrorAt) : 0);
      failing.set(state?.lastError ? 1 : 0);
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
