import type { Clock } from "../clock.ts";
import type { Db, Prisma } from "../db.ts";

/**
 * The transactional outbox (docs/odoo-integration.md, "Domain events"). A domain event is written
 * in the transaction of the change it describes, so it exists exactly when the change does: a
 * crash after the commit loses nothing (the event waits for its consumers), a rollback sends
 * nothing. Consumers keep their own progress columns on the row (`odooDoneAt` for the Odoo
 * bridge; `webhooksFannedAt` for outbound webhooks, packages/core/src/webhooks).
 */
export type OutboxKind =
  /** An application's state (or its latest request) changed; data: from, to, reason, jobId. */
  | "ApplicationChanged"
  /** A cluster's agent registered (data: first = never registered before). */
  | "ClusterConnected"
  /** A disconnected cluster's agent was heard from again. */
  | "ClusterReconnected"
  /** A connected cluster went silent for HEARTBEAT_TIMEOUT_SECONDS. */
  | "ClusterDisconnected"
  /** A registration token was exchanged for a credential (data: tokenId, credentialId). */
  | "TokenConsumed"
  /**
   * A job was closed (data: jobId, outcome, intent, error): by its result (RESULT_SQL; outcome
   * succeeded, failed, noop, conflict) or without one (`writeJobsClosed`; outcome expired,
   * undeliverable, cancelled, or failed when the dispatch refused it).
   */
  | "JobFinished"
  /** A cluster's health condition (JobChannelHealthy) changed status (data: condition, from, to, reason). */
  | "ClusterHealthChanged";

export interface OutboxInput {
  kind: OutboxKind;
  organizationId?: string | null;
  clusterId?: string | null;
  applicationId?: string | null;
  data?: Record<string, unknown>;
}

type Tx = Prisma.TransactionClient;

/** Writes one event in the caller's transaction. */
export async function writeOutbox(tx: Tx, event: OutboxInput, now: Date) {
  await tx.outboxEvent.create({
    data: {
      kind: event.kind,
      organizationId: event.organizationId ?? null,
      clusterId: event.clusterId ?? null,
      applicationId: event.applicationId ?? null,
      data: (event.data ?? {}) as Prisma.InputJsonValue,
      createdAt: now,
    },
  });
}

/**
 * `JobFinished` for jobs closed without a result, in the caller's transaction, read from the
 * closed rows themselves (their state is the outcome). The claim statement, which closes jobs
 * found expired or out of deliveries, writes the same rows itself (CLAIM_SQL).
 */
export async function writeJobsClosed(tx: Tx, jobIds: string[], now: Date) {
  if (jobIds.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO "OutboxEvent" (kind, "organizationId", "clusterId", data, "createdAt")
    SELECT 'JobFinished', c."organizationId", j."clusterId",
           jsonb_build_object('jobId', j.id, 'outcome', j.state::text, 'intent', j.request->>'intent',
             'error', left(j.error, 500)), ${now}
    FROM "Job" j JOIN "Cluster" c ON c.id = j."clusterId"
    WHERE j.id = ANY(${jobIds}::text[])`;
}

export interface OutboxEventRow {
  id: bigint;
  kind: OutboxKind;
  organizationId: string | null;
  clusterId: string | null;
  applicationId: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** A claim older than this belongs to a drain that died: taken again. */
const STALE_CLAIM_MS = 5 * 60_000;

/**
 * The Odoo bridge's side of the outbox: takes up to `limit` events not pushed yet (skipping
 * those another drain holds), oldest first. Each is marked done once handled, or released for
 * the next drain when Odoo could not take it.
 */
export function createOdooOutbox({ db, clock }: { db: Db; clock: Clock }) {
  async function claim(limit = 200): Promise<OutboxEventRow[]> {
    const now = clock.now();
    const stale = new Date(now.getTime() - STALE_CLAIM_MS);
    return db.$queryRaw<OutboxEventRow[]>`
      UPDATE "OutboxEvent" SET "odooClaimedAt" = ${now}
      WHERE id IN (
        SELECT id FROM "OutboxEvent"
        WHERE "odooDoneAt" IS NULL AND ("odooClaimedAt" IS NULL OR "odooClaimedAt" < ${stale})
        ORDER BY id LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      RETURNING id, kind, "organizationId"::text AS "organizationId", "clusterId"::text AS "clusterId",
        "applicationId"::text AS "applicationId", data, "createdAt"`.then((rows) =>
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
  }

  async function done(ids: bigint[]) {
    if (ids.length === 0) return;
    await db.outboxEvent.updateMany({ where: { id: { in: ids } }, data: { odooDoneAt: clock.now() } });
  }

  async function release(ids: bigint[]) {
    if (ids.length === 0) return;
    await db.outboxEvent.updateMany({
      where: { id: { in: ids }, odooDoneAt: null },
      data: { odooClaimedAt: null },
    });
  }

  async function pending() {
    return db.outboxEvent.count({ where: { odooDoneAt: null } });
  }

  return { claim, done, release, pending };
}

export type OdooOutbox = ReturnType<typeof createOdooOutbox>;
