import type { ClusterHealth } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { RefusedCredentialState } from "../credentials/credentials.service.ts";
import type { Cluster } from "../db.ts";
import type { PollAuthFailures } from "../events/heartbeats.ts";
import { clusterHealthOf } from "./cluster-health.ts";

/**
 * A cluster's health as the admin API shows it: conditions, versions, the facts behind its job
 * channel's verdict (judged stale after `staleAfterSeconds`) and its open jobs.
 */
export function toClusterHealth(
  { cluster, openJobs }: { cluster: Cluster; openJobs: ClusterHealth["openJobs"] },
  staleAfterSeconds: number,
): ClusterHealth {
  return {
    clusterId: cluster.id,
    status: cluster.status,
    lastHeartbeatAt: isoOrNull(cluster.lastHeartbeatAt),
    lastSeenAt: isoOrNull(cluster.lastSeenAt),
    ...clusterHealthOf(cluster),
    jobChannel: {
      lastPollAt: isoOrNull(cluster.lastPollAt),
      staleAfterSeconds,
      pollAuthFailures: Object.entries((cluster.pollAuthFailures ?? {}) as PollAuthFailures).flatMap(
        ([credentialState, refusal]) =>
          refusal ? [{ credentialState: credentialState as RefusedCredentialState, ...refusal }] : [],
      ),
    },
    versions: {
      operator: cluster.operatorVersion,
      flux: cluster.fluxVersion,
      velero: cluster.veleroVersion,
      kubernetes: cluster.kubernetesVersion,
    },
    openJobs,
  };
}
