import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";

const BATCH = 5_000;

/**
 * Deletes the rows of `table` matching `olderThan` ($1 is the cutoff), a batch at a time, so no
 * statement holds locks long. `table` and `olderThan` are constants of this file, never input.
 */
async function deleteInBatches(db: Db, table: string, olderThan: string, cutoff: Date): Promise<number> {
  let deleted = 0;
  for (;;) {
    const batch = await db.$executeRawUnsafe(
      `DELETE FROM "${table}" WHERE id IN (SELECT id FROM "${table}" WHERE ${olderThan} LIMIT ${BATCH})`,
      cutoff.toISOString(),
    );
    deleted += batch;
    if (batch < BATCH) return deleted;
  }
}

/**
 * Deletes agent events, outbox events and finished webhook deliveries older than the retention
 * period. An outbox event that old was consumed long ago, or never will be (the bridge off); what
 * it would have pushed, the Odoo reconciliation compares anyway. Pending deliveries are kept.
 */
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
  return {
    deleted: await deleteInBatches(db, "AgentEvent", `"receivedAt" < $1::timestamp`, cutoff),
    outboxDeleted: await deleteInBatches(db, "OutboxEvent", `"createdAt" < $1::timestamp`, cutoff),
    webhookDeliveriesDeleted: await deleteInBatches(
      db,
      "WebhookDelivery",
      `status <> 'pending' AND "createdAt" < $1::timestamp`,
      cutoff,
    ),
  };
}
