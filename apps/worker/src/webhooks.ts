import type { WorkerDeps } from "./deps.ts";

/** Deliver jobs are removed once done: the row in PostgreSQL is the record, and ids are reused. */
const DELIVER_OPTS = { removeOnComplete: true, removeOnFail: true } as const;

/** One BullMQ job per attempt; the id dedupes the hot path, the retries and the sweep. */
async function enqueueDelivery(deps: WorkerDeps, deliveryId: string, attempts: number, delay = 0) {
  await deps.queues.enqueue(
    "webhooks",
    "deliver",
    { deliveryId },
    { jobId: `${deliveryId}-${attempts}`, ...(delay > 0 ? { delay } : {}), ...DELIVER_OPTS },
  );
}

/** The outbox's new events become deliveries (one transaction per batch), each enqueued. */
export async function fanOutWebhooks(deps: WorkerDeps) {
  let created = 0;
  for (let round = 0; round < 50; round += 1) {
    const { events, ids } = await deps.webhooks.fanOut(200);
    for (const id of ids) await enqueueDelivery(deps, id, 0);
    created += ids.length;
    if (events < 200) break;
  }
  return { created };
}

/** One attempt; a failure schedules the next as a delayed job (the sweep is the backstop). */
export async function deliverWebhook(deps: WorkerDeps, deliveryId: string) {
  const result = await deps.webhooks.attempt(deliveryId);
  if (result.outcome === "retry" && result.retryAt && result.attempts !== undefined)
    await enqueueDelivery(
      deps,
      deliveryId,
      result.attempts,
      Math.max(0, result.retryAt.getTime() - deps.clock.now().getTime()),
    );
  return result;
}

/** The backstop: fan-out hints lost, deliveries whose job Redis lost or a dead worker held. */
export async function sweepWebhooks(deps: WorkerDeps) {
  const { created } = await fanOutWebhooks(deps);
  const due = await deps.webhooks.due();
  for (const row of due) await enqueueDelivery(deps, row.id, row.attempts);
  return { created, due: due.length };
}
