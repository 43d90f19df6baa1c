import type { Prisma } from "../db.ts";

/**
 * $1 cluster, $2 the replacing credential, $3 now, $4 end of the grace period (ISO strings).
 * Every credential of the cluster still working is marked rotated, replaced by $2 and expires at
 * the end of the grace period at the latest; one already rotated keeps its earlier end.
 */
const SUPERSEDE_SQL = `
  UPDATE "AgentCredential"
  SET "rotatedAt" = COALESCE("rotatedAt", $3::timestamp),
      "expiresAt" = LEAST("expiresAt", $4::timestamp),
      "replacedById" = $2::uuid
  WHERE "clusterId" = $1::uuid AND id <> $2::uuid AND "revokedAt" IS NULL
    AND ("expiresAt" IS NULL OR "expiresAt" > $3::timestamp)
  RETURNING id::text AS id`;

/**
 * A re-registration's effect on the credentials the cluster had: they keep working until
 * `validUntil`, then stop, and none of them can rotate any more (their successor is in use).
 * Returns the ids it superseded.
 */
export async function supersedeCredentials(
  tx: Prisma.TransactionClient,
  input: { clusterId: string; replacementId: string; now: Date; validUntil: Date },
): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    SUPERSEDE_SQL,
    input.clusterId,
    input.replacementId,
    input.now.toISOString(),
    input.validUntil.toISOString(),
  );
  return rows.map((row) => row.id);
}
