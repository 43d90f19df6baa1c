import { createHash } from "node:crypto";
import {
  type AgentJob,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  type JobResultBody,
} from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Cluster, Db, GitOpsBinding } from "../db.ts";
import { GIT_REPOSITORY_HEALTHY } from "../health/cluster-health.ts";
import { type JobExecutor, RetryLater } from "../jobs/executor-channel.ts";
import type { Logger } from "../logger.ts";
import type { Sealer } from "../secrets/sealer.ts";
import {
  type GitOpsAuth,
  type GitOpsChangeInput,
  type GitOpsEnginePort,
  gitCredentialContext,
  isGitOpsFailure,
} from "./gitops-engine.ts";

interface Deps {
  db: Db;
  /** A cluster's health changed (its GitRepositoryHealthy condition): push it to Odoo. */
  onClusterChanged?: (clusterId: string) => Promise<void> | void;
  clock: Clock;
  audit: AuditService;
  sealer: Sealer;
  engine: Pick<GitOpsEnginePort, "applyChange">;
  /** PUBLIC_URL: the Cluster CR's spec.controlPlaneEndpoint. */
  publicUrl: string | undefined;
  logger?: Pick<Logger, "info" | "warn">;
  /** How long a job of a cluster without a binding waits before it is tried again. */
  unboundRetryMs?: number;
}

type Payload = Record<string, unknown>;

/** What one job changes in the cluster's directory, or why it cannot be done through Git. */
function changeOf(job: AgentJob, slug: string): GitOpsChangeInput | string {
  const payload = job.payload as Payload;
  if (job.kind === "intent" && payload.intent === ENSURE_APPLICATION_INSTANCE) {
    return {
      type: "upsert-application",
      clusterSlug: slug,
      application: payload.applicationInstance as Payload,
    };
  }
  if (job.kind === "intent" && payload.intent === DELETE_APPLICATION_INSTANCE) {
    return {
      type: "delete-application",
      clusterSlug: slug,
      namespace: String(payload.namespace),
      name: String(payload.name),
    };
  }
  const what = job.kind === "intent" ? `the intent ${String(payload.intent)}` : `a raw ${job.kind} job`;
  return `GitOps mode writes ApplicationInstances only: ${what} cannot be performed through Git`;
}

const keyOf = (namespace: unknown, name: unknown) => `${String(namespace)}/${String(name)}`;

/**
 * The key the engine looks for in the branch's history. Job keys are unique per cluster only
 * (`applicationinstance/<ns>/<name>@<generation>`), and clusters commonly share one repository
 * and branch: without the cluster id, one cluster's job would find another's commit and be
 * taken as done. Hashed when too long or not one printable token (a trailer's limits).
 */
export function gitIdempotencyKey(clusterId: string, jobKey: string) {
  const key = `${clusterId}/${jobKey}`;
  return /^[\x21-\x7e]{1,200}$/.test(key)
    ? key
    : `${clusterId}/sha256-${createHash("sha256").update(jobKey).digest("hex")}`;
}

/**
 * GitOps mode's JobExecutor (docs/gitops-mode.md): each job of a gitops cluster becomes one
 * commit on the branch its Flux follows, through @vwksp/gitops. The first job after a binding
 * was set writes the whole cluster directory (Cluster CR, every ApplicationInstance, the
 * kustomization); later ones write or remove one application file. Idempotent by the job's
 * idempotency key (the engine finds an earlier attempt's commit by its trailer).
 */
export function createGitOpsExecutor({
  db,
  clock,
  audit,
  sealer,
  engine,
  publicUrl,
  logger,
  onClusterChanged,
  unboundRetryMs = 60_000,
}: Deps): JobExecutor {
  /**
   * Writes the cluster's GitRepositoryHealthy condition when its status or reason changes (so it
   * shows in the cluster's conditions, its healthMessage and Odoo's health_message).
   */
  async function setCondition(cluster: Cluster, status: "True" | "False", reason: string, message: string) {
    const previous = cluster.gitRepository as { status?: string; reason?: string } | null;
    if (previous?.status === status && previous.reason === reason) return;
    const condition = {
      type: GIT_REPOSITORY_HEALTHY,
      status,
      reason,
      message,
      lastTransitionTime: clock.now().toISOString(),
    };
    await db.cluster.update({ where: { id: cluster.id }, data: { gitRepository: condition } });
    await onClusterChanged?.(cluster.id);
  }

  /**
   * Every ApplicationInstance the cluster should run, from its jobs that went through (in any mode)
   * and this one last: the initial write brings the repository to the whole desired state.
   */
  async function desiredApplications(clusterId: string, job: AgentJob) {
    const rows = await db.job.findMany({
      where: { clusterId, kind: "intent", OR: [{ state: { in: ["succeeded", "noop"] } }, { id: job.id }] },
      select: { id: true, payload: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    const apps = new Map<string, Payload>();
    for (const row of [...rows.filter((r) => r.id !== job.id), { id: job.id, payload: job.payload }]) {
      const payload = row.payload as Payload;
      if (payload.intent === ENSURE_APPLICATION_INSTANCE) {
        const instance = payload.applicationInstance as { metadata: { namespace: string; name: string } };
        apps.set(keyOf(instance.metadata.namespace, instance.metadata.name), instance as unknown as Payload);
      } else if (payload.intent === DELETE_APPLICATION_INSTANCE) {
        apps.delete(keyOf(payload.namespace, payload.name));
      }
    }
    return [...apps.values()];
  }

  async function markFailure(
    cluster: Cluster,
    binding: GitOpsBinding,
    failure: { reason: string; message: string },
    unhealthy: boolean,
  ) {
    const message = `${failure.reason}: ${failure.message}`;
    await db.gitOpsBinding.update({
      where: { clusterId: binding.clusterId },
      data: { lastError: message, lastErrorAt: clock.now(), ...(unhealthy ? { healthy: false } : {}) },
    });
    if (unhealthy) {
      await setCondition(
        cluster,
        "False",
        failure.reason,
        `the worker cannot push to ${binding.url} (branch ${binding.branch}): ${failure.message}`,
      );
    }
    if (unhealthy && binding.healthy) {
      await audit.record({
        source: "system",
        kind: "GitOpsBindingUnhealthy",
        actor: "system",
        organizationId: cluster.organizationId,
        clusterId: binding.clusterId,
        data: { url: binding.url, branch: binding.branch, error: message },
      });
    }
  }

  return {
    async execute(job: AgentJob, cluster: Cluster): Promise<JobResultBody> {
      const binding = await db.gitOpsBinding.findUnique({ where: { clusterId: cluster.id } });
      if (!binding) {
        throw new RetryLater(
          `cluster ${cluster.slug} has no Git repository yet: PUT /api/v1/clusters/${cluster.id}/gitops`,
          unboundRetryMs,
        );
      }
      if (!publicUrl) {
        return {
          outcome: "failed",
          error: "PUBLIC_URL is not set: the Cluster CR in Git needs the control plane's public URL",
        };
      }
      const single = changeOf(job, cluster.slug);
      if (typeof single === "string") return { outcome: "failed", error: single };
      let auth: GitOpsAuth;
      try {
        auth = JSON.parse(sealer.open(binding.sealedCredential, gitCredentialContext(cluster.id)));
      } catch (error) {
        const failure = {
          reason: "CredentialUnreadable",
          message: `the Git credential does not open: ${(error as Error).message}`,
        };
        await markFailure(cluster, binding, failure, true);
        return { outcome: "failed", error: `${failure.reason}: ${failure.message}` };
      }
      const initial = binding.initializedAt === null;
      const change: GitOpsChangeInput = initial
        ? {
            type: "replace-cluster",
            state: {
              slug: cluster.slug,
              clusterId: cluster.id,
              controlPlaneEndpoint: publicUrl,
              applications: await desiredApplications(cluster.id, job),
            },
          }
        : single;
      let result: Awaited<ReturnType<typeof engine.applyChange>>;
      try {
        result = await engine.applyChange({
          binding: {
            url: binding.url,
            branch: binding.branch,
            path: binding.path,
            createBranch: binding.createBranch,
            auth,
            author: { name: binding.authorName, email: binding.authorEmail },
          },
          change,
          jobId: job.id,
          idempotencyKey: gitIdempotencyKey(cluster.id, job.idempotencyKey),
        });
      } catch (error) {
        if (!isGitOpsFailure(error)) throw error;
        const message = `${error.reason}: ${error.message}`;
        await markFailure(cluster, binding, error, !error.retryable);
        logger?.warn(
          { clusterId: cluster.id, jobId: job.id, reason: error.reason },
          "gitops job not applied",
        );
        if (error.retryable) throw new RetryLater(message);
        return { outcome: "failed", error: message };
      }
      const now = clock.now();
      const commit = result.outcome === "noop" ? result.head : result.commit;
      await db.gitOpsBinding.update({
        where: { clusterId: cluster.id },
        data: {
          healthy: true,
          lastError: null,
          lastErrorAt: null,
          headCommit: commit,
          ...(result.outcome === "committed" ? { lastPushAt: now } : {}),
          ...(initial ? { initializedAt: now } : {}),
        },
      });
      if (!binding.healthy) {
        await audit.record({
          source: "system",
          kind: "GitOpsBindingRestored",
          actor: "system",
          organizationId: cluster.organizationId,
          clusterId: cluster.id,
          data: { url: binding.url, branch: binding.branch, previousError: binding.lastError },
        });
      }
      await setCondition(
        cluster,
        "True",
        "Pushing",
        `the worker pushes this cluster's jobs to ${binding.url} (branch ${binding.branch})`,
      );
      if (result.outcome === "noop") return { outcome: "noop" };
      await db.job.update({ where: { id: job.id }, data: { gitCommit: result.commit } });
      logger?.info({ clusterId: cluster.id, jobId: job.id, commit: result.commit }, "gitops job committed");
      const application =
        single.type === "upsert-application"
          ? (single.application as {
              apiVersion: string;
              kind: string;
              metadata: { namespace: string; name: string };
            })
          : undefined;
      return {
        outcome: "succeeded",
        ...(application
          ? {
              appliedRef: {
                apiVersion: application.apiVersion,
                kind: application.kind,
                namespace: application.metadata.namespace,
                name: application.metadata.name,
              },
            }
          : {}),
      };
    },
  };
}
