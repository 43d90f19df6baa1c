import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";

/** Timestamps are `timestamp(3)` in UTC; an ISO string cast to timestamp keeps that exact value. */
const ts = (date: Date) => date.toISOString();

/** Deletes agent events, outbox events and finished webhook deliveries older than the retention period, in bounded batches. */
export async function pruneEvents({
  db,
  clock,
  retentionDays,
}: {
  db: Db;
  clock: Clock;
  retentionDays: number;
}) {
  const cutoff = new Date(clock.now().getTime() - retentionDays * 86_400_000);
  let deleted = 0;
  for (;;) {
    const batch = await db.$executeRaw`
      DELETE FROM "AgentEvent" WHERE id IN (
        SELECT id FROM "AgentEvent" WHERE "receivedAt" < ${ts(cutoff)}::timestamp LIMIT 5000)`;
    deleted += batch;
    if (batch < 5000) break;
  }
  // The outbox too: an event older than the retention was consumed long ago, or never will be
  // (the bridge off); what it would have pushed, the Odoo reconciliation compares anyway.
  let outboxDeleted = 0;
  for (;;) {
    const batch = await db.$executeRaw`
      DELETE FROM "OutboxEvent" WHERE id IN (
        SELECT id FROM "OutboxEvent" WHERE "createdAt" < ${ts(cutoff)}::timestamp LIMIT 5000)`;
    outboxDeleted += batch;
    if (batch < 5000) break;
  }
  // Webhook delivery logs: finished deliveries older than the retention (pending ones are kept).
  let webhookDeliveriesDeleted = 0;
  for (;;) {
    const batch = await db.$executeRaw`
      DELETE FROM "WebhookDelivery" WHERE id IN (
        SELECT id FROM "WebhookDelivery"
        WHERE status <> 'pending' AND "createdAt" < ${ts(cutoff)}::timestamp LIMIT 5000)`;
    webhookDeliveriesDeleted += batch;
    if (batch < 5000) return { deleted, outboxDeleted, webhookDeliveriesDeleted };
  }
}
