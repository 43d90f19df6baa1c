import type { JobResultBody } from "@vwksp/protocol";
import { createClusterClient, createPushExecutor, isPushRetryable } from "@vwksp/push";
import type { Clock } from "../clock.ts";
import { type JobExecutor, RetryLater } from "../jobs/executor-channel.ts";
import type { PushCredentialsService } from "./push-credentials.service.ts";

/** Reasons that are the cluster's trouble, not the job's: the cluster is validated again. */
const CLUSTER_TROUBLE = new Set(["Unreachable", "TLSError", "Unauthorized"]);

/** How long a job of a push cluster without a kubeconfig waits before it is tried again. */
const NO_KUBECONFIG_RETRY_MS = 60_000;

/** Between attempts while the cluster is in trouble (attempts that use up no delivery). */
const CLUSTER_TROUBLE_RETRY_MS = 5_000;

interface Deps {
  clock: Clock;
  credentials: Pick<PushCredentialsService, "kubeconfigOf" | "validateStored">;
  /** Per request to the cluster's API server. */
  requestTimeoutMs?: number;
  onError?: (error: unknown, context: string) => void;
}

/**
 * The executors' channel for `push` clusters: performs a job against the cluster's API server
 * with the stored kubeconfig and the operator's semantics (@vwksp/push's executor: server-side
 * apply as field manager `vworkspace-control-plane`, no force; delete; create the Operation).
 * A passing failure (5xx, 429, timeout, unreachable, TLS, 401) is `RetryLater`; a field conflict
 * is outcome `conflict` naming the manager; a 403/422 fails the job with the API server's message.
 */
export function createPushJobExecutor({ clock, credentials, requestTimeoutMs, onError }: Deps): JobExecutor {
  return {
    async execute(job, cluster): Promise<JobResultBody> {
      const kubeconfig = await credentials.kubeconfigOf(cluster.id);
      if (!kubeconfig) {
        throw new RetryLater(
          `cluster ${cluster.id} has no kubeconfig: PUT /api/v1/clusters/${cluster.id}/kubeconfig`,
          NO_KUBECONFIG_RETRY_MS,
          { countsAsDelivery: false },
        );
      }
      const client = createClusterClient(kubeconfig, requestTimeoutMs ? { requestTimeoutMs } : {});
      try {
        const executor = createPushExecutor({ client, clusterId: cluster.id, clock });
        return await executor.execute(job);
      } catch (error) {
        if (!isPushRetryable(error)) throw error;
        if (CLUSTER_TROUBLE.has(error.reason)) {
          // The cluster view should say why its jobs wait; validation records it (and clears it).
          credentials
            .validateStored(cluster.id)
            .catch((failure: unknown) => onError?.(failure, "re-validating a push cluster failed"));
          // The cluster's trouble, not the job's: wait for the cluster within the job's expiry.
          throw new RetryLater(`${error.reason}: ${error.message}`, CLUSTER_TROUBLE_RETRY_MS, {
            countsAsDelivery: false,
          });
        }
        throw new RetryLater(`${error.reason}: ${error.message}`, error.retryAfterMs);
      } finally {
        client.close();
      }
    },
  };
}
