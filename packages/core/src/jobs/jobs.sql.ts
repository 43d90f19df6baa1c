/**
 * The request side's statements: the target clusters of a batch of requests, and jobs inserted
 * with their JobRequested audit rows in one statement (see delivery.sql.ts for why batches and
 * prepared statements).
 */

/** $1 clusters. */
export const TARGET_CLUSTERS_SQL = `
  SELECT id::text AS id, "organizationId"::text AS "organizationId", status::text AS status, "registeredAt",
         "allowedNamespaces", "allowedCatalogEntries", "allowedOperationTemplates", "policyVersion"
  FROM "Cluster" WHERE id = ANY($1::uuid[])`;

export const INSERT_COLUMNS = [
  "id",
  "cluster",
  "kind",
  "payload",
  "request",
  "idempotencyKey",
  "createdAt",
  "expiresAt",
  "apiKeyId",
  "organization",
  "actor",
  "auditData",
  "policyVersion",
] as const;

/**
 * Jobs and their JobRequested audit rows in one statement, one array per column
 * (INSERT_COLUMNS, in that order).
 */
export const INSERT_JOBS_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::timestamp[], $8::timestamp[], $9::uuid[], $10::uuid[], $11::text[], $12::text[],
                         $13::int[])
      AS i(id, cluster_id, kind, payload, request, idempotency_key, created_at, expires_at, key_id,
           organization_id, actor, audit_data, policy_version)
  ), job AS (
    INSERT INTO "Job" (id, "clusterId", kind, payload, request, "idempotencyKey", state, "createdAt", "updatedAt",
                       "expiresAt", "requestedByKeyId", "policyVersion")
    SELECT id, cluster_id, kind::"JobKind", payload::jsonb, request::jsonb, idempotency_key, 'queued', created_at,
           created_at, expires_at, key_id, policy_version
    FROM input
    RETURNING id
  )
  INSERT INTO "AuditEntry" ("organizationId", "clusterId", source, kind, actor, data, "createdAt")
  SELECT i.organization_id, i.cluster_id, 'user', 'JobRequested', i.actor, i.audit_data::jsonb, i.created_at
  FROM input i JOIN job ON job.id = i.id
  RETURNING id`;
