import { type AgentJob, CLOSED_JOB_STATES, type JobResultBody, type JobStatusBody } from "@vwksp/protocol";
import { createBatcher } from "../batching.ts";
import type { Clock } from "../clock.ts";
import { type Db, prepared } from "../db.ts";
import { conflict, notFound } from "../errors.ts";
import { redactString } from "../redact.ts";
import { DELETE_APPLICATION_INSTANCE, ENSURE_APPLICATION_INSTANCE } from "./render.ts";

/** Jobs handed to one poll at most. */
export const CLAIM_LIMIT = 10;

/** What a claim statement did to one job: leased it (the nth delivery), or closed it. */
export interface ClaimedJob {
  state: string;
  createdAt: Date;
  deliveries: number;
}

interface Deps {
  db: Db;
  clock: Clock;
  leaseSeconds: number;
  ackTimeoutSeconds: number;
  maxDeliveries: number;
  /** Told of every job a claim statement touched, with the statement's time (metrics). */
  onClaimed?: (jobs: readonly ClaimedJob[], at: Date) => void;
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
  deliveries: number;
}

const CLOSED_STATES = new Set<string>(CLOSED_JOB_STATES);

/** Timestamps are `timestamp(3)` in UTC; an ISO string cast to timestamp keeps that exact value. */
const ts = (date: Date) => date.toISOString();
const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

/** No job id holds a NUL (PostgreSQL text cannot): such an id is unknown, not a database error. */
function requirePossibleId(jobId: string) {
  if (jobId.includes("\u0000")) throw notFound(`job ${jobId.replaceAll("\u0000", "\\0")} not found`);
}

function jobClosedOr404(row: { state: string | null } | undefined, jobId: string, closedMessage: string) {
  if (!row?.state) return notFound(`job ${jobId} not found`);
  if (CLOSED_STATES.has(row.state)) return conflict("job_closed", `${closedMessage} (job is ${row.state})`);
  return conflict("job_not_delivered", `job ${jobId} has not been delivered`);
}

// The statements of the hot path, each run as a named prepared statement (planned once per
// connection) and each taking a batch: the requests that queue up while earlier statements run
// go together (see createBatcher), so PostgreSQL's per-statement and per-commit costs are paid
// once per batch. Rows are locked in id order, so two batches cannot deadlock. Timestamps are
// `timestamp(3)` in UTC; ISO strings cast to timestamp keep them.

/**
 * The organization of a row's cluster, for its audit row: an index lookup per row, where a join
 * to "Cluster" may be planned as a scan of the whole table (the generic plan cannot know a
 * batch is small).
 */
const ORGANIZATION_OF = (alias: string) =>
  `(SELECT "organizationId" FROM "Cluster" WHERE id = ${alias}."clusterId")`;

/** $1 clusters, $2 how many for each, $3 now, $4 max deliveries, $5 lease end. */
const CLAIM_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::int[]) AS i(cluster_id, lim)
  ), ready AS (
    SELECT i.cluster_id, r.id, r."createdAt" FROM input i CROSS JOIN LATERAL (
      SELECT id, "createdAt" FROM "Job" WHERE "clusterId" = i.cluster_id AND state = 'ready'
      ORDER BY "createdAt", id LIMIT i.lim FOR UPDATE SKIP LOCKED
    ) r
  ), lapsed AS (
    SELECT i.cluster_id, l.id, l."createdAt" FROM input i CROSS JOIN LATERAL (
      SELECT id, "createdAt" FROM "Job"
      WHERE "clusterId" = i.cluster_id AND state IN ('leased', 'acked') AND "leaseExpiresAt" <= $3::timestamp
      ORDER BY "createdAt", id LIMIT i.lim FOR UPDATE SKIP LOCKED
    ) l
  ), candidates AS (
    -- Ready and lapsed jobs are read apart, so a long backlog of ready jobs is read in index
    -- order instead of sorted whole; the oldest of both win (rows locked and left out stay
    -- untouched).
    SELECT ranked.id FROM (
      SELECT b.id, b.cluster_id, row_number() OVER (PARTITION BY b.cluster_id ORDER BY b."createdAt", b.id) AS n
      FROM (SELECT * FROM ready UNION ALL SELECT * FROM lapsed) b
    ) ranked JOIN input i ON i.cluster_id = ranked.cluster_id
    WHERE ranked.n <= i.lim
  ), decided AS (
    SELECT j.id,
      CASE WHEN j."expiresAt" <= $3::timestamp THEN 'expired'
           WHEN j.deliveries >= $4 THEN 'undeliverable'
           ELSE 'leased' END AS next
    FROM "Job" j JOIN candidates c ON c.id = j.id
  ), updated AS (
    UPDATE "Job" j SET
      state = d.next::"JobState",
      deliveries = j.deliveries + (CASE WHEN d.next = 'leased' THEN 1 ELSE 0 END),
      "leaseExpiresAt" = CASE WHEN d.next = 'leased' THEN $5::timestamp ELSE NULL END,
      "deliveredAt" = CASE WHEN d.next = 'leased' THEN $3::timestamp ELSE j."deliveredAt" END,
      "finishedAt" = CASE WHEN d.next = 'leased' THEN NULL ELSE $3::timestamp END,
      error = CASE WHEN d.next = 'expired' THEN 'expired before it was delivered'
                   WHEN d.next = 'undeliverable' THEN 'not completed after ' || j.deliveries || ' deliveries'
                   ELSE j.error END,
      "updatedAt" = $3::timestamp
    FROM decided d WHERE j.id = d.id
    RETURNING j.id, j."clusterId", j.kind, j.payload, j."idempotencyKey", j."createdAt", j."expiresAt",
              j.signature, j.state::text AS state, j.deliveries
  ), audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT ${ORGANIZATION_OF("u")}, u."clusterId", 'system',
           CASE u.state WHEN 'leased' THEN 'JobDelivered' WHEN 'expired' THEN 'JobExpired' ELSE 'JobUndeliverable' END,
           'system', jsonb_build_object('jobId', u.id, 'delivery', u.deliveries), $3::timestamp
    FROM updated u
  )
  SELECT id, "clusterId"::text AS "clusterId", kind::text AS kind, payload, "idempotencyKey", "createdAt",
         "expiresAt", signature, state, deliveries
  FROM updated ORDER BY "createdAt", id`;

/** Input rows of ack and result, locked in id order: $1 job ids, $2 their clusters. */
const LOCKED_JOBS = `
  input AS (
    SELECT * FROM unnest($1::text[], $2::uuid[]) WITH ORDINALITY AS i(job_id, cluster_id, ord)
  ), job AS (
    SELECT j.id, j."clusterId", j.state::text AS state
    FROM "Job" j JOIN input i ON j.id = i.job_id AND j."clusterId" = i.cluster_id
    ORDER BY j.id FOR UPDATE OF j
  )`;

/** Per input row: the job's state before (null: no such job of that cluster) and whether it changed. */
const PER_INPUT = `
  SELECT job.state, u.id IS NOT NULL AS updated
  FROM input i LEFT JOIN job ON job.id = i.job_id LEFT JOIN updated u ON u.id = i.job_id
  ORDER BY i.ord`;

/** Ack and status both (re)start the ack timeout of the locked jobs: $3 now, $4 ack deadline. */
const ACKED = `
  updated AS (
    UPDATE "Job" j SET state = 'acked', "ackedAt" = COALESCE(j."ackedAt", $3::timestamp),
      "leaseExpiresAt" = $4::timestamp, "updatedAt" = $3::timestamp
    FROM job WHERE j.id = job.id AND job.state IN ('leased', 'acked', 'ready') AND j.deliveries > 0
    RETURNING j.id
  )`;

/** $1 job ids, $2 their clusters, $3 now, $4 ack deadline. */
const ACK_SQL = `
  WITH ${LOCKED_JOBS}, ${ACKED}, audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT ${ORGANIZATION_OF("job")}, job."clusterId", 'agent', 'JobAcked', job."clusterId"::text,
           jsonb_build_object('jobId', job.id), $3::timestamp
    FROM job JOIN updated u ON u.id = job.id
    WHERE job.state <> 'acked'
  ) ${PER_INPUT}`;

/** $1 job ids, $2 their clusters, $3 now, $4 outcomes, $5 errors, $6 appliedRefs (JSON text). */
const RESULT_SQL = `
  WITH ${LOCKED_JOBS}, result AS (
    SELECT * FROM unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS r(job_id, outcome, error, applied_ref)
  ), updated AS (
    UPDATE "Job" j SET state = r.outcome::"JobState", "finishedAt" = $3::timestamp, error = r.error,
      "appliedRef" = r.applied_ref::jsonb, "leaseExpiresAt" = NULL, "updatedAt" = $3::timestamp
    FROM job JOIN result r ON r.job_id = job.id
    WHERE j.id = job.id AND job.state IN ('leased', 'acked', 'ready') AND j.deliveries > 0
    RETURNING j.id, j."clusterId", r.outcome, r.error, j.request->>'intent' AS intent
  ), audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT ${ORGANIZATION_OF("u")}, u."clusterId", 'agent', 'JobFinished', u."clusterId"::text,
           jsonb_build_object('jobId', u.id, 'outcome', u.outcome, 'error', left(u.error, 500)), $3::timestamp
    FROM updated u
  )
  SELECT job.state, u.id IS NOT NULL AS updated, u.intent
  FROM input i LEFT JOIN job ON job.id = i.job_id LEFT JOIN updated u ON u.id = i.job_id
  ORDER BY i.ord`;

/**
 * Interim statuses, which also (re)start the ack timeout: $1 job ids, $2 their clusters, $3 now,
 * $4 ack deadline, $5 phases, $6 conditions (JSON text), $7 messages, $8 timestamps.
 */
const STATUS_SQL = `
  WITH ${LOCKED_JOBS}, ${ACKED}, status AS (
    SELECT * FROM unnest($1::text[], $5::text[], $6::text[], $7::text[], $8::timestamp[])
      AS s(job_id, phase, conditions, message, at)
  ), inserted AS (
    INSERT INTO "JobStatusUpdate" ("jobId", phase, conditions, message, timestamp, "receivedAt")
    SELECT u.id, s.phase, s.conditions::jsonb, s.message, s.at, $3::timestamp
    FROM updated u JOIN status s ON s.job_id = u.id
  ) ${PER_INPUT}`;

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

type Transition = { state: string | null; updated: boolean };
/** A result also says which intent the job carried (null for apply and delete jobs). */
type ResultTransition = Transition & { intent: string | null };

interface ClaimRequest {
  clusterId: string;
  limit: number;
}

interface ResultRequest {
  clusterId: string;
  jobId: string;
  body: JobResultBody;
}

/**
 * The agent side of the job lifecycle. Every transition is one SQL statement that also writes
 * its audit row, so a crash leaves nothing half-done; concurrent requests share statements.
 */
export function createDeliveryService({
  db,
  clock,
  leaseSeconds,
  ackTimeoutSeconds,
  maxDeliveries,
  onClaimed,
}: Deps) {
  const claims = createBatcher<ClaimRequest, ClaimedRow[]>({
    // Two polls of one cluster in one statement could pick the same job.
    key: (request) => request.clusterId,
    async run(requests) {
      const now = clock.now();
      const rows = await prepared<ClaimedRow & { clusterId: string }>(db, "job_claim", CLAIM_SQL, [
        requests.map((request) => request.clusterId),
        requests.map((request) => request.limit),
        ts(now),
        maxDeliveries,
        ts(addSeconds(now, leaseSeconds)),
      ]);
      if (rows.length > 0) onClaimed?.(rows, now);
      return requests.map((request) => rows.filter((row) => row.clusterId === request.clusterId));
    },
  });

  const acks = createBatcher<{ clusterId: string; jobId: string }, Transition>({
    key: (request) => request.jobId,
    async run(requests) {
      const now = clock.now();
      return prepared<Transition>(db, "job_ack", ACK_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(now),
        ts(addSeconds(now, ackTimeoutSeconds)),
      ]);
    },
  });

  const statuses = createBatcher<{ clusterId: string; jobId: string; body: JobStatusBody }, Transition>({
    // Statuses of one job are stored in the order they came: one per statement.
    key: (request) => request.jobId,
    async run(requests) {
      const now = clock.now();
      return prepared<Transition>(db, "job_status", STATUS_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(now),
        ts(addSeconds(now, ackTimeoutSeconds)),
        requests.map((request) => request.body.phase),
        requests.map((request) => JSON.stringify(request.body.conditions ?? [])),
        requests.map((request) => request.body.message ?? null),
        requests.map((request) => ts(request.body.timestamp ? new Date(request.body.timestamp) : now)),
      ]);
    },
  });

  const results = createBatcher<ResultRequest, ResultTransition>({
    // The first result of a job wins and a repeat is a 409: never two of them in one statement.
    key: (request) => request.jobId,
    async run(requests) {
      return prepared<ResultTransition>(db, "job_result", RESULT_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(clock.now()),
        requests.map((request) => request.body.outcome),
        // Agents quote what failed, tokens included: nothing token-shaped is kept, in the job or
        // in its audit row (written by this statement, so not through the audit service).
        requests.map((request) => redactString(request.body.error?.trim() ?? "") || null),
        requests.map((request) => (request.body.appliedRef ? JSON.stringify(request.body.appliedRef) : null)),
      ]);
    },
  });

  /**
   * Leases up to CLAIM_LIMIT claimable jobs of one cluster, oldest first. Claimable = ready, or
   * leased/acked with the lease or ack timeout run out (redelivery needs no sweep). On the way,
   * jobs past expiresAt become `expired` and jobs out of deliveries `undeliverable`.
   * FOR UPDATE SKIP LOCKED keeps concurrent polls (any process) from taking the same job.
   */
  async function claim(clusterId: string): Promise<AgentJob[]> {
    const delivered: AgentJob[] = [];
    for (let round = 0; round < 5 && delivered.length < CLAIM_LIMIT; round += 1) {
      const rows = await claims.submit({ clusterId, limit: CLAIM_LIMIT - delivered.length });
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
    requirePossibleId(jobId);
    const row = await acks.submit({ clusterId, jobId });
    if (!row.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /** Interim status: stored, and it renews the ack timeout. */
  async function status(clusterId: string, jobId: string, body: JobStatusBody): Promise<void> {
    requirePossibleId(jobId);
    const row = await statuses.submit({ clusterId, jobId, body });
    if (!row.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /**
   * The first result closes the job; a repeat is a 409. Says whether the job was an application
   * request, whose application the caller then settles (see ApplicationsService.jobsClosed).
   */
  async function result(
    clusterId: string,
    jobId: string,
    body: JobResultBody,
  ): Promise<{ settlesApplication: boolean }> {
    requirePossibleId(jobId);
    const row = await results.submit({ clusterId, jobId, body });
    if (!row.updated) throw jobClosedOr404(row, jobId, "a result was already recorded");
    return {
      settlesApplication:
        row.intent === ENSURE_APPLICATION_INSTANCE || row.intent === DELETE_APPLICATION_INSTANCE,
    };
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
