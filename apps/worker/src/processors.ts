import { pruneEvents, sweepJobs } from "@vwksp/core";
import { DISPATCH_JOB_OPTIONS, type JobName, ODOO_BACKOFF_TYPE, type QueueName } from "@vwksp/queue";
import type { WorkerOptions } from "bullmq";
import type { WorkerDeps } from "./deps.ts";
import { createOdooSync, odooBackoff, odooSyncProcessors } from "./odoo-sync.ts";
import type { ProcessorMap, RuntimeOptions } from "./runtime.ts";
import { deliverWebhook, fanOutWebhooks, sweepWebhooks } from "./webhooks.ts";

/** How often the outbox is drained when no hint came (a lost enqueue, a drain that died). */
const OUTBOX_BACKSTOP_MS = 30_000;

/** A queued job younger than this is still on its normal path through BullMQ. */
const RECONCILE_AFTER_MS = 10_000;

/** How often each maintenance job runs. */
export const MAINTENANCE_EVERY_MS: Record<JobName<"maintenance">, number> = {
  "sweep-jobs": 15_000,
  "reconcile-queued": 30_000,
  "check-heartbeats": 15_000,
  "settle-applications": 15_000,
  "check-job-channels": 30_000,
  "prune-events": 3_600_000,
  // The backstop of the executors' channel: lost drain signals, retries after their backoff.
  "drain-executor-clusters": 5_000,
  // Push mode's periodic validation; PUSH_VALIDATE_INTERVAL_SECONDS replaces this default.
  "validate-push-clusters": 300_000,
  // Webhooks' backstop: lost fan-out hints (job results send none), lost delivery jobs.
  "sweep-webhooks": 5_000,
};

/**
 * Re-enqueues jobs that are still `queued` in PostgreSQL but whose dispatch job BullMQ lost
 * (Redis flushed or restarted without persistence), never got (requested while Redis was away),
 * or gave up on. Only jobs older than `olderThanMs`; BullMQ job ids make a race with the
 * enqueue path harmless.
 */
export async function reconcileQueued(deps: WorkerDeps, olderThanMs = RECONCILE_AFTER_MS) {
  const dispatchQueue = deps.queues.queue("dispatch");
  let requeued = 0;
  const stale = await deps.dispatch.staleQueued(olderThanMs);
  for (const jobId of stale) {
    const existing = await dispatchQueue.getJob(jobId);
    const state = existing ? await existing.getState() : "missing";
    if (state === "failed" && existing) {
      await existing.retry("failed");
      requeued += 1;
    } else if (state === "missing" || state === "unknown" || state === "completed") {
      // A completed dispatch job with the row still queued cannot normally happen; redo it.
      if (existing) await existing.remove().catch(() => {});
      await deps.queues.enqueue("dispatch", "dispatch-job", { jobId }, { jobId, ...DISPATCH_JOB_OPTIONS });
      requeued += 1;
    }
  }
  if (requeued > 0) deps.logger.info({ requeued }, "re-enqueued queued jobs BullMQ had lost");
  return { requeued, scanned: stale.length };
}

/** Every processor of this worker, by queue and job name. The odoo-sync queue only with ODOO_URL. */
export function processorsFor(deps: WorkerDeps): ProcessorMap {
  const odooSync = createOdooSync(deps);
  return {
    ...(odooSync ? { "odoo-sync": odooSyncProcessors(deps, odooSync) } : {}),
    dispatch: {
      "dispatch-job": async ({ jobId }) => deps.dispatch.prepare(jobId),
    },
    webhooks: {
      "fan-out": async () => fanOutWebhooks(deps),
      deliver: async ({ deliveryId }) => deliverWebhook(deps, deliveryId),
    },
    execute: {
      "drain-cluster": async ({ clusterId }) => {
        await deps.drainGate.opening(clusterId);
        return deps.executorChannel.drain(clusterId);
      },
    },
    maintenance: {
      "sweep-jobs": async () => {
        const swept = await sweepJobs({
          db: deps.db,
          clock: deps.clock,
          signals: deps.signals,
          maxDeliveries: deps.config.JOB_MAX_DELIVERIES,
        });
        deps.metrics.jobsClosed(swept);
        return swept;
      },
      "reconcile-queued": async () => reconcileQueued(deps),
      "check-heartbeats": async () => deps.health.markSilentClustersDisconnected(),
      "settle-applications": async () => deps.applications.settleClosedJobs(),
      "check-job-channels": async () => deps.health.checkJobChannels(),
      "prune-events": async () =>
        pruneEvents({ db: deps.db, clock: deps.clock, retentionDays: deps.config.EVENT_RETENTION_DAYS }),
      "drain-executor-clusters": async () => {
        if (deps.executorChannel.modes.length === 0) return { clusters: 0 };
        const clusters = await deps.executorChannel.clustersToDrain();
        await deps.signals.jobsToExecute(clusters);
        return { clusters: clusters.length };
      },
      ...(deps.pushCredentials
        ? {
            "validate-push-clusters": async () =>
              deps.pushCredentials?.revalidateAll((error, clusterId) =>
                deps.logger.warn({ err: error, clusterId }, "validating a push cluster failed"),
              ),
          }
        : {}),
      "sweep-webhooks": async () => sweepWebhooks(deps),
    },
  };
}

/** What runs once a queue's job has completed and BullMQ has freed its id. */
export function completionHooksFor(deps: WorkerDeps): RuntimeOptions["onCompleted"] {
  return {
    // A drain signal refused while this drain ran asks for the next one (createDrainGate).
    execute: (job) => {
      deps.drainGate
        .closed((job.data as { clusterId: string }).clusterId)
        .catch((error: unknown) =>
          deps.logger.warn({ err: error }, "re-signalling a drain failed; the backstop sweep will"),
        );
    },
  };
}

/** BullMQ settings per queue: odoo-sync retries back off exponentially up to an hour. */
export function workerSettingsFor(
  options: { odooBackoffBaseMs?: number } = {},
): Partial<Record<QueueName, WorkerOptions["settings"]>> {
  return {
    "odoo-sync": {
      backoffStrategy: (attemptsMade: number, type?: string) =>
        type === ODOO_BACKOFF_TYPE ? odooBackoff(attemptsMade, options.odooBackoffBaseMs) : 1_000,
    },
  };
}

/** Repeatable jobs; job schedulers upsert by id, so every worker may call this. */
export async function schedulesFor(deps: WorkerDeps, processors: ProcessorMap): Promise<void> {
  const queue = deps.queues.queue("maintenance");
  for (const name of Object.keys(processors.maintenance ?? {}) as JobName<"maintenance">[]) {
    await queue.upsertJobScheduler(
      name,
      {
        every:
          name === "validate-push-clusters"
            ? deps.config.PUSH_VALIDATE_INTERVAL_SECONDS * 1000
            : MAINTENANCE_EVERY_MS[name],
      },
      { name, data: {}, opts: { removeOnComplete: 100, removeOnFail: 500 } },
    );
  }
  if (processors["odoo-sync"]) {
    const odoo = deps.queues.queue("odoo-sync");
    const opts = { removeOnComplete: 100, removeOnFail: 500 };
    await odoo.upsertJobScheduler(
      "odoo-pull",
      { every: deps.config.ODOO_SYNC_INTERVAL_SECONDS * 1000 },
      { name: "pull", data: {}, opts },
    );
    await odoo.upsertJobScheduler(
      "odoo-pull-applications",
      { every: deps.config.ODOO_SYNC_INTERVAL_SECONDS * 1000 },
      { name: "pull-applications", data: {}, opts },
    );
    // The backstop behind the outbox hints (a lost enqueue, a drain that died).
    await odoo.upsertJobScheduler(
      "odoo-drain-outbox",
      { every: OUTBOX_BACKSTOP_MS },
      { name: "drain-outbox", data: {}, opts },
    );
    await odoo.upsertJobScheduler(
      "odoo-reconcile-applications",
      { every: deps.config.ODOO_RECONCILE_INTERVAL_SECONDS * 1000 },
      { name: "reconcile-applications", data: {}, opts },
    );
    await odoo.upsertJobScheduler(
      "odoo-reconcile",
      { every: deps.config.ODOO_RECONCILE_INTERVAL_SECONDS * 1000 },
      { name: "reconcile", data: {}, opts },
    );
    // And one now: what was refused or missed while this worker was down is redone at start.
    await deps.queues.enqueue(
      "odoo-sync",
      "reconcile",
      {},
      { jobId: `odoo-reconcile-start-${Date.now()}`, ...opts },
    );
    await deps.queues.enqueue(
      "odoo-sync",
      "reconcile-applications",
      {},
      { jobId: `odoo-reconcile-applications-start-${Date.now()}`, ...opts },
    );
  }
}
