/** The outbox events webhooks have not fanned out yet, oldest first, skipping those another worker holds. */
export const UNFANNED_EVENTS_SQL = `
  SELECT id, kind, "organizationId"::text AS "organizationId", "clusterId"::text AS "clusterId",
    "applicationId"::text AS "applicationId", data, "createdAt"
  FROM "OutboxEvent"
  WHERE "webhooksFannedAt" IS NULL
  ORDER BY id
  LIMIT $1
  FOR UPDATE SKIP LOCKED`;

/** Pending deliveries whose attempt is due and whose claim (if any) is stale. $1 now, $2 stale before, $3 limit. */
export const DUE_DELIVERIES_SQL = `
  SELECT id::text AS id, attempts FROM "WebhookDelivery"
  WHERE status = 'pending' AND "nextAttemptAt" <= $1::timestamp AND ("claimedAt" IS NULL OR "claimedAt" < $2::timestamp)
  ORDER BY "nextAttemptAt"
  LIMIT $3`;

/** Takes one due delivery for an attempt (counted now: a worker dying mid-send used it). */
export const CLAIM_DELIVERY_SQL = `
  UPDATE "WebhookDelivery" SET "claimedAt" = $2::timestamp, attempts = attempts + 1
  WHERE id = $1::uuid AND status = 'pending' AND "nextAttemptAt" <= $2::timestamp
    AND ("claimedAt" IS NULL OR "claimedAt" < $3::timestamp)
  RETURNING id::text AS id, attempts`;
