import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { writeJobsClosed } from "../outbox/outbox.ts";
import type { JobSignals } from "./signals.ts";

const ts = (date: Date) => date.toISOString();

/**
 * The backstop behind the claim query (which already redelivers lapsed leases): returns lapsed
 * leases and ack timeouts to `ready` (or `undeliverable` / `expired`), expires undelivered jobs
 * past expiresAt, and wakes the clusters that got claimable jobs back.
 */
export async function sweepJobs({
  db,
  clock,
  signals,
  maxDeliveries,
}: {
  db: Db;
  clock: Clock;
  signals: JobSignals;
  maxDeliveries: number;
}) {
  const now = clock.now();
  const { lapsed, expired } = await db.$transaction(
    async (tx) => {
      const lapsed = await tx.$queryRaw<{ id: string; clusterId: string; state: string }[]>`
      UPDATE "Job" SET
        state = (CASE WHEN "expiresAt" <= ${ts(now)}::timestamp THEN 'expired'
                      WHEN deliveries >= ${maxDeliveries} THEN 'undeliverable' ELSE 'ready' END)::"JobState",
        "leaseExpiresAt" = NULL,
        "finishedAt" = CASE WHEN "expiresAt" <= ${ts(now)}::timestamp OR deliveries >= ${maxDeliveries} THEN ${ts(now)}::timestamp ELSE NULL END,
        error = CASE WHEN "expiresAt" <= ${ts(now)}::timestamp THEN 'expired before it was completed'
                     WHEN deliveries >= ${maxDeliveries} THEN 'not completed after ' || deliveries || ' deliveries' ELSE error END,
        "updatedAt" = ${ts(now)}::timestamp
      WHERE id IN (
        -- Rows an agent's ack or result holds right now are left to that statement (or the next
        -- sweep): never waiting on them means the sweep cannot deadlock with a batch of acks.
        SELECT id FROM "Job"
        WHERE state IN ('leased', 'acked') AND "leaseExpiresAt" <= ${ts(now)}::timestamp
        ORDER BY id
        FOR UPDATE SKIP LOCKED
      )
      RETURNING id, "clusterId"::text AS "clusterId", state::text AS state`;
      const expired = await tx.job.updateManyAndReturn({
        where: { state: { in: ["queued", "ready"] }, expiresAt: { lte: now } },
        data: { state: "expired", finishedAt: now, error: "expired before it was delivered" },
        select: { id: true },
      });
      // Closed without a result: their job.finished, with the closing (a rollback sends nothing).
      const closedIds = [...lapsed.filter((row) => row.state !== "ready"), ...expired].map((row) => row.id);
      await writeJobsClosed(tx, closedIds, now);
      return { lapsed, expired };
    },
    { timeout: 30_000 },
  );
  const requeued = lapsed.filter((row) => row.state === "ready");
  const wake = [...new Set(requeued.map((row) => row.clusterId))];
  if (wake.length > 0) await signals.jobsReady(wake);
  const undeliverable = lapsed.filter((row) => row.state === "undeliverable").length;
  const closed = lapsed.length - requeued.length + expired.length;
  return { requeued: requeued.length, closed, undeliverable, expired: closed - undeliverable };
}
