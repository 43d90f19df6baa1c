import type { Cluster as ClusterDto } from "@vwksp/protocol";
import type { Cluster } from "../db.ts";

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** The admin API's view of a cluster (never the private signing key). */
export function toClusterDto(row: Cluster): ClusterDto {
  return {
    id: row.id,
    slug: row.slug,
    displayName: row.displayName,
    organizationId: row.organizationId,
    connectivityMode: row.connectivityMode,
    allowedNamespaces: row.allowedNamespaces,
    allowedCatalogEntries: row.allowedCatalogEntries,
    allowedOperationTemplates: row.allowedOperationTemplates,
    signPayloads: row.signPayloads,
    signingPublicKey: row.signingPublicKey,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    registeredAt: iso(row.registeredAt),
    lastHeartbeatAt: iso(row.lastHeartbeatAt),
    lastSeenAt: iso(row.lastSeenAt),
    operatorVersion: row.operatorVersion,
    fluxVersion: row.fluxVersion,
    veleroVersion: row.veleroVersion,
    kubernetesVersion: row.kubernetesVersion,
  };
}
