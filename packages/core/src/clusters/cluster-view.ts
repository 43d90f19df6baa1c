import type { Cluster as ClusterDto } from "@vwksp/protocol";
import type { GitOpsService } from "../gitops/gitops.service.ts";
import type { PushCredentialsService } from "../push/push-credentials.service.ts";
import { toClusterDto } from "./clusters.dto.ts";

/**
 * What `GET /api/v1/clusters/{id}` shows: the cluster, and by its connectivity mode its push
 * credential's health or its GitOps binding's. Each mode's service reads its own part.
 */
export function createClusterView({
  pushCredentials,
  gitops,
}: {
  pushCredentials: Pick<PushCredentialsService, "clusterView">;
  gitops: Pick<GitOpsService, "find">;
}) {
  async function view(organizationId: string, clusterId: string): Promise<ClusterDto> {
    const { cluster, push } = await pushCredentials.clusterView(organizationId, clusterId);
    const binding =
      cluster.connectivityMode === "gitops" ? await gitops.find(cluster.id, cluster.slug) : undefined;
    return { ...toClusterDto(cluster, push), ...(binding !== undefined ? { gitops: binding } : {}) };
  }

  return { view };
}

export type ClusterView = ReturnType<typeof createClusterView>;
