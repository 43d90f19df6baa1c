-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "appliedGeneration" INTEGER,
ADD COLUMN     "appliedUid" TEXT,
ADD COLUMN     "deletedAt" TIMESTAMP(3);

-- Applications waiting for their request's outcome settle from their last job, as the state
-- machine (packages/core/src/applications) would have settled them had it existed: until now a
-- job result never moved an application, so a succeeded deploy whose ApplicationInstance sent
-- no new transition stayed "requested", and a succeeded delete stayed "deleting".
WITH settled AS (
  SELECT a.id,
    j.id AS job_id, j.state::text AS job_state, j.error, j."finishedAt" AS finished_at,
    j."appliedRef"->>'uid' AS applied_uid,
    (j."appliedRef"->>'generation')::bigint AS applied_generation,
    a.state AS awaiting,
    (j.state::text IN ('failed', 'conflict', 'expired', 'undeliverable', 'cancelled')
      OR (j.state::text = 'noop' AND j.error IS NOT NULL)) AS job_failed,
    r.conditions AS conditions,
    (r.id IS NOT NULL
      AND (j."appliedRef"->>'uid' IS NULL OR r.uid IS NULL OR r.uid = j."appliedRef"->>'uid')
      AND (j."appliedRef"->>'generation' IS NULL
           OR r.generation >= (j."appliedRef"->>'generation')::bigint)) AS applied_seen
  FROM "Application" a
  JOIN "Job" j ON j.id = a."lastJobId"
  LEFT JOIN "ResourceStatus" r ON r."clusterId" = a."clusterId" AND r.kind = 'ApplicationInstance'
    AND r."apiVersion" LIKE 'apps.vworkspace.io/%' AND r.namespace = a.namespace AND r.name = a.name
  WHERE a.state IN ('requested', 'deleting')
    AND j.state::text IN ('succeeded', 'noop', 'failed', 'conflict', 'expired', 'undeliverable', 'cancelled')
), decided AS (
  SELECT id, job_id, job_state, error, finished_at, applied_uid, applied_generation, job_failed,
    CASE
      WHEN job_failed THEN 'failed'
      WHEN awaiting = 'deleting' THEN 'deleted'
      WHEN applied_seen AND conditions @> '[{"type": "Degraded", "status": "True"}]' THEN 'degraded'
      WHEN applied_seen AND conditions @> '[{"type": "Ready", "status": "True"}]' THEN 'deployed'
      ELSE 'deploying'
    END AS next
  FROM settled
)
UPDATE "Application" a SET
  state = d.next,
  "stateReason" = CASE WHEN d.job_failed
                       THEN 'job ' || d.job_id || ' ' || d.job_state || COALESCE(': ' || d.error, '')
                       ELSE NULL END,
  "appliedUid" = CASE WHEN d.next IN ('deploying', 'deployed', 'degraded') THEN d.applied_uid END,
  "appliedGeneration" = CASE WHEN d.next IN ('deploying', 'deployed', 'degraded')
                             AND d.applied_generation <= 2147483647 THEN d.applied_generation::int END,
  "deployedAt" = CASE WHEN d.next = 'deployed' THEN d.finished_at ELSE a."deployedAt" END,
  "deletedAt" = CASE WHEN d.next = 'deleted' THEN d.finished_at END,
  "updatedAt" = now()
FROM decided d
WHERE a.id = d.id;
