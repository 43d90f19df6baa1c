import type { AgentJob, JobResultBody, JobStatusBody } from "@vwksp/protocol";
import type { Clock } from "../clock.ts";
import { type Db, prepared } from "../db.ts";
import { conflict, notFound } from "../errors.ts";

/** Jobs handed to one poll at most. */
export const CLAIM_LIMIT = 10;

interface Deps {
  db: Db;
  clock: Clock;
  leaseSeconds: number;
  ackTimeoutSeconds: number;
  maxDeliveries: number;
}

interface ClaimedRow {
  id: string;
  kind: AgentJob["kind"];
  payload: Record<string, unknown>;
  idempotencyKey: string;
  createdAt: Date;
  expiresAt: Date;
  signature: string | null;
  state: string;
}

const CLOSED_STATES = new Set([
  "succeeded",
  "failed",
  "noop",
  "conflict",
  "expired",
  "cancelled",
  "undeliverable",
]);

/** Timestamps are `timestamp(3)` in UTC; an ISO string cast to timestamp keeps that exact value. */
const ts = (date: Date) => date.toISOString();
const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

function jobClosedOr404(row: { state: string } | undefined, jobId: string, closedMessage: string) {
  if (!row) return notFound(`job ${jobId} not found`);
  if (CLOSED_STATES.has(row.state)) return conflict("job_closed", `${closedMessage} (job is ${row.state})`);
  return conflict("job_not_delivered", `job ${jobId} has not been delivered`);
}

// The statements of the hot path, each run as a named prepared statement (planned once per
// connection). Timestamps are `timestamp(3)` in UTC; ISO strings cast to timestamp keep them.

/** $1 cluster, $2 now, $3 how many, $4 max deliveries, $5 lease end. */
const CLAIM_SQL = `
  WITH candidates AS (
    SELECT id FROM "Job"
    WHERE "clusterId" = $1::uuid
      AND (state = 'ready' OR (state IN ('leased', 'acked') AND "leaseExpiresAt" <= $2::timestamp))
    ORDER BY "createdAt", id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ), decided AS (
    SELECT j.id,
      CASE WHEN j."expiresAt" <= $2::timestamp THEN 'expired'
           WHEN j.deliveries >= $4 THEN 'undeliverable'
           ELSE 'leased' END AS next
    FROM "Job" j JOIN candidates c ON c.id = j.id
  ), updated AS (
    UPDATE "Job" j SET
      state = d.next::"JobState",
      deliveries = j.deliveries + (CASE WHEN d.next = 'leased' THEN 1 ELSE 0 END),
      "leaseExpiresAt" = CASE WHEN d.next = 'leased' THEN $5::timestamp ELSE NULL END,
      "deliveredAt" = CASE WHEN d.next = 'leased' THEN $2::timestamp ELSE j."deliveredAt" END,
      "finishedAt" = CASE WHEN d.next = 'leased' THEN NULL ELSE $2::timestamp END,
      error = CASE WHEN d.next = 'expired' THEN 'expired before it was delivered'
                   WHEN d.next = 'undeliverable' THEN 'not completed after ' || j.deliveries || ' deliveries'
                   ELSE j.error END,
      "updatedAt" = $2::timestamp
    FROM decided d WHERE j.id = d.id
    RETURNING j.id, j.kind, j.payload, j."idempotencyKey", j."createdAt", j."expiresAt", j.signature,
              j.state::text AS state, j.deliveries
  ), audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT c."organizationId", $1::uuid, 'system',
           CASE u.state WHEN 'leased' THEN 'JobDelivered' WHEN 'expired' THEN 'JobExpired' ELSE 'JobUndeliverable' END,
           'system', jsonb_build_object('jobId', u.id, 'delivery', u.deliveries), $2::timestamp
    FROM updated u JOIN "Cluster" c ON c.id = $1::uuid
  )
  SELECT id, kind::text AS kind, payload, "idempotencyKey", "createdAt", "expiresAt", signature, state
  FROM updated ORDER BY "createdAt", id`;

/** The part of ack and status that (re)starts the ack timeout: $1 job, $2 cluster, $3 now, $4 ack deadline. */
const ACK_CTES = `
  WITH job AS (
    SELECT id, state::text AS state FROM "Job" WHERE id = $1 AND "clusterId" = $2::uuid FOR UPDATE
  ), updated AS (
    UPDATE "Job" j SET state = 'acked', "ackedAt" = COALESCE(j."ackedAt", $3::timestamp),
      "leaseExpiresAt" = $4::timestamp, "updatedAt" = $3::timestamp
    FROM job WHERE j.id = job.id AND job.state IN ('leased', 'acked', 'ready') AND j.deliveries > 0
    RETURNING j.id
  )`;

const ACK_SQL = `${ACK_CTES}, audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT c."organizationId", $2::uuid, 'agent', 'JobAcked', $2, jsonb_build_object('jobId', job.id), $3::timestamp
    FROM job JOIN updated u ON u.id = job.id JOIN "Cluster" c ON c.id = $2::uuid
    WHERE job.state <> 'acked'
  )
  SELECT job.state, EXISTS (SELECT 1 FROM updated) AS updated FROM job`;

/** ACK_CTES' parameters, then $5 phase, $6 conditions, $7 message, $8 timestamp. */
const STATUS_SQL = `${ACK_CTES}, inserted AS (
    INSERT INTO "JobStatusUpdate" ("jobId", phase, conditions, message, timestamp, "receivedAt")
    SELECT u.id, $5, $6::jsonb, $7, $8::timestamp, $3::timestamp FROM updated u
  )
  SELECT job.state, EXISTS (SELECT 1 FROM updated) AS updated FROM job`;

/** $1 job, $2 cluster, $3 now, $4 outcome, $5 error, $6 appliedRef. */
const RESULT_SQL = `
  WITH job AS (
    SELECT id, state::text AS state FROM "Job" WHERE id = $1 AND "clusterId" = $2::uuid FOR UPDATE
  ), updated AS (
    UPDATE "Job" j SET state = $4::"JobState", "finishedAt" = $3::timestamp, error = $5,
      "appliedRef" = $6::jsonb, "leaseExpiresAt" = NULL, "updatedAt" = $3::timestamp
    FROM job WHERE j.id = job.id AND job.state IN ('leased', 'acked', 'ready') AND j.deliveries > 0
    RETURNING j.id
  ), audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT c."organizationId", $2::uuid, 'agent', 'JobFinished', $2,
           jsonb_build_object('jobId', u.id, 'outcome', $4::text, 'error', left($5, 500)), $3::timestamp
    FROM updated u JOIN "Cluster" c ON c.id = $2::uuid
  )
  SELECT job.state, EXISTS (SELECT 1 FROM updated) AS updated FROM job`;

/** $1 cluster, $2 job ids, $3 now. */
const RELEASE_SQL = `
  UPDATE "Job" SET state = 'ready', deliveries = GREATEST(deliveries - 1, 0), "leaseExpiresAt" = NULL,
    "updatedAt" = $3::timestamp
  WHERE "clusterId" = $1::uuid AND id = ANY($2::text[]) AND state = 'leased'`;

/** $1 cluster ids, $2 now. */
const CLAIMABLE_SQL = `
  SELECT DISTINCT "clusterId"::text AS "clusterId" FROM "Job"
  WHERE "clusterId" = ANY($1::uuid[])
    AND (state = 'ready' OR (state IN ('leased', 'acked') AND "leaseExpiresAt" <= $2::timestamp))`;

type Transition = { state: string; updated: boolean };

/**
 * The agent side of the job lifecycle. Every transition is one SQL statement that also writes
 * its audit row, so the hot path costs one round trip and a crash leaves nothing half-done.
 */
export function createDeliveryService({ db, clock, leaseSeconds, ackTimeoutSeconds, maxDeliveries }: Deps) {
  /**
   * Leases up to CLAIM_LIMIT claimable jobs of one cluster, oldest first. Claimable = ready, or
   * leased/acked with the lease or ack timeout run out (redelivery needs no sweep). On the way,
   * jobs past expiresAt become `expired` and jobs out of deliveries `undeliverable`.
   * FOR UPDATE SKIP LOCKED keeps concurrent polls (any process) from taking the same job.
   */
  async function claim(clusterId: string): Promise<AgentJob[]> {
    const delivered: AgentJob[] = [];
    for (let round = 0; round < 5 && delivered.length < CLAIM_LIMIT; round += 1) {
      const now = clock.now();
      const rows = await prepared<ClaimedRow>(db, "job_claim", CLAIM_SQL, [
        clusterId,
        ts(now),
        CLAIM_LIMIT - delivered.length,
        maxDeliveries,
        ts(addSeconds(now, leaseSeconds)),
      ]);
      for (const row of rows) {
        if (row.state !== "leased") continue;
        delivered.push({
          id: row.id,
          kind: row.kind,
          payload: row.payload,
          idempotencyKey: row.idempotencyKey,
          createdAt: row.createdAt.toISOString(),
          expiresAt: row.expiresAt.toISOString(),
          ...(row.signature ? { signature: row.signature } : {}),
        });
      }
      // Only another round when this one closed jobs instead of delivering them.
      if (rows.length === 0 || rows.every((row) => row.state === "leased")) break;
    }
    return delivered;
  }

  /** 204 on first and repeated ack; the ack timeout starts (and restarts on repeats). */
  async function ack(clusterId: string, jobId: string): Promise<void> {
    const now = clock.now();
    const [row] = await prepared<Transition>(db, "job_ack", ACK_SQL, [
      jobId,
      clusterId,
      ts(now),
      ts(addSeconds(now, ackTimeoutSeconds)),
    ]);
    if (!row?.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /** Interim status: stored, and it renews the ack timeout. */
  async function status(clusterId: string, jobId: string, body: JobStatusBody): Promise<void> {
    const now = clock.now();
    const [row] = await prepared<Transition>(db, "job_status", STATUS_SQL, [
      jobId,
      clusterId,
      ts(now),
      ts(addSeconds(now, ackTimeoutSeconds)),
      body.phase,
      JSON.stringify(body.conditions ?? []),
      body.message ?? null,
      ts(body.timestamp ? new Date(body.timestamp) : now),
    ]);
    if (!row?.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /** The first result closes the job; a repeat is a 409. */
  async function result(clusterId: string, jobId: string, body: JobResultBody): Promise<void> {
    const [row] = await prepared<Transition>(db, "job_result", RESULT_SQL, [
      jobId,
      clusterId,
      ts(clock.now()),
      body.outcome,
      body.error?.trim() || null,
      body.appliedRef ? JSON.stringify(body.appliedRef) : null,
    ]);
    if (!row?.updated) throw jobClosedOr404(row, jobId, "a result was already recorded");
  }

  /**
   * Puts jobs leased to a poll nobody will read back to `ready`, as if never delivered (the
   * delivery count too), so the next poll gets them at once rather than after the lease.
   */
  async function release(clusterId: string, jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await prepared(db, "job_release", RELEASE_SQL, [clusterId, jobIds, ts(clock.now())]);
  }

  /**
   * Clusters (among `clusterIds`) that have claimable jobs now: ready ones and those whose lease
   * or ack timeout ran out. Lets waiting polls pick up redeliveries and lost wake-ups.
   */
  async function claimableClusters(clusterIds: string[]): Promise<string[]> {
    if (clusterIds.length === 0) return [];
    const rows = await prepared<{ clusterId: string }>(db, "job_claimable", CLAIMABLE_SQL, [
      clusterIds,
      ts(clock.now()),
    ]);
    return rows.map((row) => row.clusterId);
  }

  return { claim, release, ack, status, result, claimableClusters };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
