import type { Cluster as ClusterDto, PushCredentialView } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { Cluster } from "../db.ts";
import { clusterHealthOf } from "../health/cluster-health.ts";

/** The admin API's view of a cluster (never the private signing key). */
export function toClusterDto(row: Cluster, push?: PushCredentialView | null): ClusterDto {
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
    registeredAt: isoOrNull(row.registeredAt),
    lastHeartbeatAt: isoOrNull(row.lastHeartbeatAt),
    lastSeenAt: isoOrNull(row.lastSeenAt),
    lastPollAt: isoOrNull(row.lastPollAt),
    operatorVersion: row.operatorVersion,
    fluxVersion: row.fluxVersion,
    veleroVersion: row.veleroVersion,
    kubernetesVersion: row.kubernetesVersion,
    ...clusterHealthOf(row),
    ...(push === undefined ? {} : { push }),
  };
}
