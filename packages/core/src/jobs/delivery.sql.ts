/**
 * The job delivery statements (the agent side of the pipeline: claim, ack, status, result,
 * release, the re-check of waiting polls). This is the service's fast path, told here once:
 *
 * - Each runs as a named prepared statement (`prepared` in db.ts): PostgreSQL plans it once per
 *   connection instead of on every call (the claim went from 400 to 110 µs of server CPU).
 * - They run on a pool of their own beside Prisma's, whose sessions force generic plans: with
 *   custom plans PostgreSQL re-plans the batched statements on every run, at 2-3× the cost
 *   (createDb in db.ts).
 * - Each takes a batch: the requests that queue up while earlier statements run go together
 *   (createBatcher in batching.ts), so PostgreSQL's per-statement and per-commit costs are paid
 *   once per batch. Rows are locked in id order, so two batches cannot deadlock.
 * - Each writes its audit rows in the same statement, so a crash leaves nothing half-done.
 *
 * Timestamps are `timestamp(3)` in UTC; ISO strings cast to timestamp keep them.
 */

/**
 * The organization of a row's cluster, for its audit row: an index lookup per row, where a join
 * to "Cluster" may be planned as a scan of the whole table (the generic plan cannot know a
 * batch is small).
 */
const ORGANIZATION_OF = (alias: string) =>
  `(SELECT "organizationId" FROM "Cluster" WHERE id = ${alias}."clusterId")`;

/**
 * $1 clusters, $2 how many for each, $3 now, $4 max deliveries, $5 lease end, $6 the channel
 * claiming for each (a connectivity mode): a cluster's jobs go out only on the channel of its
 * current mode — long-polls claim for `pull` clusters, the worker's executors for the others.
 */
export const CLAIM_SQL = `
  WITH input AS (
    SELECT i.* FROM unnest($1::uuid[], $2::int[], $6::text[]) AS i(cluster_id, lim, channel)
    JOIN "Cluster" c ON c.id = i.cluster_id AND c."connectivityMode"::text = i.channel
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
              j.signature, j.state::text AS state, j.deliveries, j.request->>'intent' AS intent, j.error
  ), audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT ${ORGANIZATION_OF("u")}, u."clusterId", 'system',
           CASE u.state WHEN 'leased' THEN 'JobDelivered' WHEN 'expired' THEN 'JobExpired' ELSE 'JobUndeliverable' END,
           'system', jsonb_build_object('jobId', u.id, 'delivery', u.deliveries), $3::timestamp
    FROM updated u
  ), outboxed AS (
    -- Found expired or out of deliveries: closed without a result, their job.finished here too.
    INSERT INTO "OutboxEvent" (kind, "organizationId", "clusterId", data, "createdAt")
    SELECT 'JobFinished', ${ORGANIZATION_OF("u")}, u."clusterId",
           jsonb_build_object('jobId', u.id, 'outcome', u.state, 'intent', u.intent,
             'error', left(u.error, 500)), $3::timestamp
    FROM updated u WHERE u.state <> 'leased'
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
export const ACK_SQL = `
  WITH ${LOCKED_JOBS}, ${ACKED}, audited AS (
    INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
    SELECT ${ORGANIZATION_OF("job")}, job."clusterId", 'agent', 'JobAcked', job."clusterId"::text,
           jsonb_build_object('jobId', job.id), $3::timestamp
    FROM job JOIN updated u ON u.id = job.id
    WHERE job.state <> 'acked'
  ) ${PER_INPUT}`;

/** $1 job ids, $2 their clusters, $3 now, $4 outcomes, $5 errors, $6 appliedRefs (JSON text). */
export const RESULT_SQL = `
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
  ), outboxed AS (
    -- The domain event (job.finished webhooks), in the same statement as the result.
    INSERT INTO "OutboxEvent" (kind, "organizationId", "clusterId", data, "createdAt")
    SELECT 'JobFinished', ${ORGANIZATION_OF("u")}, u."clusterId",
           jsonb_build_object('jobId', u.id, 'outcome', u.outcome, 'intent', u.intent,
             'error', left(u.error, 500)), $3::timestamp
    FROM updated u
  )
  SELECT job.state, u.id IS NOT NULL AS updated, u.intent
  FROM input i LEFT JOIN job ON job.id = i.job_id LEFT JOIN updated u ON u.id = i.job_id
  ORDER BY i.ord`;

/**
 * Interim statuses, which also (re)start the ack timeout: $1 job ids, $2 their clusters, $3 now,
 * $4 ack deadline, $5 phases, $6 conditions (JSON text), $7 messages, $8 timestamps.
 */
export const STATUS_SQL = `
  WITH ${LOCKED_JOBS}, ${ACKED}, status AS (
    SELECT * FROM unnest($1::text[], $5::text[], $6::text[], $7::text[], $8::timestamp[])
      AS s(job_id, phase, conditions, message, at)
  ), inserted AS (
    INSERT INTO "JobStatusUpdate" ("jobId", phase, conditions, message, timestamp, "receivedAt")
    SELECT u.id, s.phase, s.conditions::jsonb, s.message, s.at, $3::timestamp
    FROM updated u JOIN status s ON s.job_id = u.id
  ) ${PER_INPUT}`;

/** $1 cluster, $2 job ids, $3 now. */
export const RELEASE_SQL = `
  UPDATE "Job" SET state = 'ready', deliveries = GREATEST(deliveries - 1, 0), "leaseExpiresAt" = NULL,
    "updatedAt" = $3::timestamp
  WHERE "clusterId" = $1::uuid AND id = ANY($2::text[]) AND state = 'leased'`;

/** Of these `pull` clusters ($1), those with claimable jobs at $2 (the long-poll's re-check). */
export const CLAIMABLE_SQL = `
  SELECT DISTINCT j."clusterId"::text AS "clusterId" FROM "Job" j
  JOIN "Cluster" c ON c.id = j."clusterId" AND c."connectivityMode" = 'pull'
  WHERE j."clusterId" = ANY($1::uuid[])
    AND (j.state = 'ready' OR (j.state IN ('leased', 'acked') AND j."leaseExpiresAt" <= $2::timestamp))`;

/** Clusters not in `pull` mode with claimable jobs at $1, and their mode (the executors' sweep). */
export const EXECUTOR_CLAIMABLE_SQL = `
  SELECT DISTINCT j."clusterId"::text AS "clusterId", c."connectivityMode"::text AS mode FROM "Job" j
  JOIN "Cluster" c ON c.id = j."clusterId" AND c."connectivityMode" <> 'pull'
  WHERE j.state = 'ready' OR (j.state IN ('leased', 'acked') AND j."leaseExpiresAt" <= $1::timestamp)
  LIMIT $2`;

/**
 * When the cluster's job in flight ($1 cluster, $2 now) — leased or acked, lease not run out —
 * stops holding the line: an executor runs one job of a cluster at a time, in order.
 */
export const IN_FLIGHT_SQL = `
  SELECT min("leaseExpiresAt") AS until FROM "Job"
  WHERE "clusterId" = $1::uuid AND state IN ('leased', 'acked') AND "leaseExpiresAt" > $2::timestamp`;

/**
 * An executor's job that failed for a passing reason is claimable again at $4 (its lease end):
 * $1 job, $2 cluster, $3 now, $5 why (kept as the job's error until it settles).
 */
export const RETRY_LATER_SQL = `
  UPDATE "Job" SET "leaseExpiresAt" = $4::timestamp, error = $5, "updatedAt" = $3::timestamp,
    deliveries = CASE WHEN $6::boolean THEN GREATEST(deliveries - 1, 0) ELSE deliveries END
  WHERE id = $1 AND "clusterId" = $2::uuid AND state IN ('leased', 'acked')`;
