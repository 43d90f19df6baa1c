import type { JobName, JobPayload } from "./catalog.ts";
import type { Queues } from "./producers.ts";
import type { PubSub } from "./pubsub.ts";

/**
 * Outbox hints are sent at most this often per process (trailing): a burst of results, one
 * JobFinished event each, costs one hint, not a Redis round trip per job.
 */
const OUTBOX_HINT_MS = 100;

/** How long cluster changes are gathered before one Odoo push carries them all. */
export const ODOO_PUSH_DEBOUNCE_MS = 1_000;

/** Custom BullMQ backoff of odoo-sync jobs (the worker defines it: exponential, capped at 1 h). */
export const ODOO_BACKOFF_TYPE = "odoo-capped";
/** With the one-hour cap, more than a day of retrying before a push is given up. */
export const ODOO_PUSH_ATTEMPTS = 40;

/**
 * Carries core's change notifications out of the process: credential changes to every API
 * process (pub/sub), cluster changes to the Odoo bridge (one debounced push job per cluster).
 * Implements core's ChangeNotifier. It never throws: the change is already committed, and a
 * Redis outage must not turn a done registration into an error. A lost invalidation is bounded
 * by the credential cache's lifetime; a lost push by the periodic push of heartbeating clusters.
 */
export function createChangeNotifier(options: {
  pubsub: PubSub;
  queues: Queues;
  odooEnabled: boolean;
  /** Applies an auth change in this process at once, before other processes hear of it. */
  onLocalAuthChange?: (clusterId: string) => void;
  onError?: (error: unknown, context: string) => void;
}) {
  const report = options.onError ?? (() => {});
  /** One odoo-sync job after the debounce, changes within it folded into it by `dedupId`. */
  const odooPush = <N extends JobName<"odoo-sync">>(
    name: N,
    payload: JobPayload<"odoo-sync", N>,
    dedupId: string,
    context: string,
  ) =>
    options.queues
      .enqueue("odoo-sync", name, payload, {
        delay: ODOO_PUSH_DEBOUNCE_MS,
        deduplication: { id: dedupId, ttl: ODOO_PUSH_DEBOUNCE_MS },
        attempts: ODOO_PUSH_ATTEMPTS,
        backoff: { type: ODOO_BACKOFF_TYPE },
        removeOnComplete: true,
      })
      .catch((error: unknown) => report(error, context));
  async function hintOutbox() {
    // Webhooks' fan-out (a hint: the worker's sweep is the backstop).
    await options.queues
      .enqueue(
        "webhooks",
        "fan-out",
        {},
        {
          deduplication: { id: "webhooks-fan-out", ttl: 200 },
          delay: 100,
          removeOnComplete: true,
          removeOnFail: true,
        },
      )
      .catch((error: unknown) => report(error, "webhooks fan-out enqueue"));
    if (!options.odooEnabled) return;
    await odooPush("drain-outbox", {}, "drain-outbox", "odoo outbox enqueue");
  }
  let outboxHint: NodeJS.Timeout | undefined;
  return {
    async clusterAuthChanged(clusterId: string) {
      options.onLocalAuthChange?.(clusterId);
      await options.pubsub
        .publish("auth-invalidate", clusterId)
        .catch((error: unknown) => report(error, "auth invalidation"));
    },
    /** The shared catalog changed: Odoo's copy of it (ODOO_CATALOG_MODEL) is pushed again. */
    async catalogChanged() {
      if (!options.odooEnabled) return;
      await odooPush("push-catalog", {}, "push-catalog", "odoo catalog push enqueue");
    },
    async outboxWritten() {
      if (outboxHint) return;
      outboxHint = setTimeout(() => {
        outboxHint = undefined;
        void hintOutbox();
      }, OUTBOX_HINT_MS);
      // A hint still pending at exit is lost, never waited for: the periodic drains take it.
      outboxHint.unref();
    },
    async clusterChanged(clusterId: string) {
      if (!options.odooEnabled) return;
      await odooPush("push-cluster", { clusterId }, `push-${clusterId}`, "odoo push enqueue");
    },
  };
}
