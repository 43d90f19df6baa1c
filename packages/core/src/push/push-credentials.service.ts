import type { PushCredentialView, PushValidationState } from "@vwksp/protocol";
import {
  intakeKubeconfig,
  KubeconfigRefusedError,
  type KubeconfigSummary,
  type PushKubeconfig,
  type ValidationResult,
  validateCluster,
} from "@vwksp/push";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import { clusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import type { Cluster, Db, PushCredential } from "../db.ts";
import { badRequest, conflict, notFound } from "../errors.ts";
import type { ChangeNotifier } from "../notifier.ts";
import type { Sealer } from "../secrets/sealer.ts";

/**
 * Push mode's credential (issue 14): the kubeconfig an administrator pastes for a push cluster,
 * sealed under SECRET_KEY and bound to its cluster, and what validating it against the cluster's
 * API found. A successful validation is what registration is for a pull cluster: it sets
 * `registeredAt` (job requests need it) and marks the cluster connected; a failure marks it
 * disconnected with the reason. The kubeconfig itself is never returned, logged or audited.
 */
interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  /** Undefined without SECRET_KEY: then no kubeconfig is stored (409). */
  sealer: Sealer | undefined;
  /** Per request of a validation (default 5 s). */
  validationTimeoutMs?: number;
  /** Tests point validation at a stand-in; production uses @vwksp/push. */
  validate?: typeof validateCluster;
}

/** The context a kubeconfig is sealed with: a sealed value copied onto another cluster does not open. */
export const kubeconfigContext = (clusterId: string) => `kubeconfig:${clusterId}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The allowed namespaces RoleBindings can name: globs (`org-*`) are left to the cluster's admin. */
export const concreteNamespaces = (allowed: readonly string[]) =>
  [...new Set(allowed)].filter((namespace) => DNS_LABEL.test(namespace));

export function toPushCredentialView(row: PushCredential): PushCredentialView {
  const summary = row.summary as unknown as KubeconfigSummary;
  return {
    server: summary.server,
    context: summary.context,
    cluster: summary.cluster,
    user: summary.user,
    ...(summary.namespace ? { namespace: summary.namespace } : {}),
    authentication: summary.authentication,
    certificateAuthority: summary.certificateAuthority,
    ...(summary.tlsServerName ? { tlsServerName: summary.tlsServerName } : {}),
    warnings: row.warnings,
    validation: {
      state: (row.validationReason ?? "Pending") as PushValidationState,
      message: row.validationMessage,
      kubernetesVersion: row.kubernetesVersion,
      validatedAt: row.validatedAt?.toISOString() ?? null,
    },
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function createPushCredentialsService({
  db,
  clock,
  audit,
  notifier,
  sealer,
  validationTimeoutMs = 5_000,
  validate = validateCluster,
}: Deps) {
  function requirePush(cluster: Cluster) {
    if (cluster.connectivityMode !== "push") {
      throw conflict(
        "not_push_cluster",
        `cluster ${cluster.id} is in ${cluster.connectivityMode} mode: a kubeconfig is only held for push clusters (set connectivityMode to push first)`,
      );
    }
  }

  function requireSealer(): Sealer {
    if (!sealer?.sealing) {
      throw conflict(
        "secret_key_missing",
        "SECRET_KEY is not set on the control plane: a kubeconfig is never stored unencrypted. Set SECRET_KEY (32 bytes, hex or base64) on the API and the workers, then upload again",
      );
    }
    return sealer;
  }

  /** Stores (replaces) the cluster's kubeconfig, then validates it at once. */
  async function set(actor: Actor, clusterId: string, body: unknown): Promise<PushCredentialView> {
    const cluster = await clusterOfOrganization(db, actor.organizationId, clusterId);
    requirePush(cluster);
    const vault = requireSealer();
    if (body === undefined || body === null || (typeof body === "string" && body.trim() === "")) {
      throw badRequest("kubeconfig_refused", "InvalidFormat: the body is empty: send the kubeconfig");
    }
    let intake: ReturnType<typeof intakeKubeconfig>;
    try {
      intake = intakeKubeconfig(body as Parameters<typeof intakeKubeconfig>[0]);
    } catch (error) {
      if (error instanceof KubeconfigRefusedError) {
        const field = error.field ? ` (${error.field})` : "";
        throw badRequest("kubeconfig_refused", `${error.reason}${field}: ${error.message}`);
      }
      throw error;
    }
    const sealed = vault.seal(JSON.stringify(intake.kubeconfig), kubeconfigContext(clusterId));
    const now = clock.now();
    const fields = {
      sealedKubeconfig: sealed,
      summary: intake.summary as object,
      warnings: intake.warnings,
      validationReason: null,
      validationMessage: null,
      kubernetesVersion: null,
      validatedAt: null,
      updatedAt: now,
    };
    await db.$transaction(async (tx) => {
      const before = await tx.pushCredential.findUnique({
        where: { clusterId },
        select: { clusterId: true },
      });
      await tx.pushCredential.upsert({
        where: { clusterId },
        create: { clusterId, ...fields, createdAt: now },
        update: fields,
      });
      await audit.record(
        {
          source: "user",
          kind: before ? "PushCredentialReplaced" : "PushCredentialSet",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
          data: { ...intake.summary, warnings: intake.warnings },
        },
        tx,
      );
    });
    await validateStored(clusterId);
    const row = await db.pushCredential.findUniqueOrThrow({ where: { clusterId } });
    return toPushCredentialView(row);
  }

  /** Removes the kubeconfig: the cluster is disconnected until another is uploaded. */
  async function remove(actor: Actor, clusterId: string) {
    const cluster = await clusterOfOrganization(db, actor.organizationId, clusterId);
    const removed = await db.$transaction(async (tx) => {
      const { count } = await tx.pushCredential.deleteMany({ where: { clusterId } });
      if (count === 0) return false;
      if (cluster.status === "connected") {
        await tx.cluster.update({ where: { id: clusterId }, data: { status: "disconnected" } });
      }
      await audit.record(
        {
          source: "user",
          kind: "PushCredentialRemoved",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
        },
        tx,
      );
      return true;
    });
    if (!removed) throw notFound(`cluster ${clusterId} has no kubeconfig`);
    await notifier.clusterChanged(clusterId);
  }

  /** The stored kubeconfig, opened; undefined when none is stored. Never log what it returns. */
  async function kubeconfigOf(clusterId: string): Promise<PushKubeconfig | undefined> {
    const row = await db.pushCredential.findUnique({
      where: { clusterId },
      select: { sealedKubeconfig: true },
    });
    if (!row) return undefined;
    return JSON.parse(
      requireSealer().open(row.sealedKubeconfig, kubeconfigContext(clusterId)),
    ) as PushKubeconfig;
  }

  /**
   * Validates the stored kubeconfig against the cluster's API and records the result on the
   * credential and the cluster. The result of a kubeconfig replaced meanwhile is dropped.
   */
  async function validateStored(clusterId: string): Promise<ValidationResult | undefined> {
    const [cluster, row] = await Promise.all([
      db.cluster.findUnique({ where: { id: clusterId } }),
      db.pushCredential.findUnique({ where: { clusterId } }),
    ]);
    if (!cluster || !row || cluster.connectivityMode !== "push" || !sealer?.sealing) return undefined;
    const kubeconfig = JSON.parse(
      sealer.open(row.sealedKubeconfig, kubeconfigContext(clusterId)),
    ) as PushKubeconfig;
    const result = await validate(kubeconfig, {
      namespaces: concreteNamespaces(cluster.allowedNamespaces),
      timeoutMs: validationTimeoutMs,
    });
    await record(cluster, row, result);
    return result;
  }

  async function record(cluster: Cluster, row: PushCredential, result: ValidationResult) {
    const now = clock.now();
    const reason = result.ok ? "Connected" : result.reason;
    const message = result.ok ? null : result.message;
    const statusChanged = await db.$transaction(async (tx) => {
      const { count } = await tx.pushCredential.updateMany({
        where: { clusterId: cluster.id, sealedKubeconfig: row.sealedKubeconfig },
        data: {
          validationReason: reason,
          validationMessage: message,
          validatedAt: now,
          ...(result.ok ? { kubernetesVersion: result.kubernetesVersion } : {}),
        },
      });
      if (count === 0) return false;
      const current = await tx.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      if (current.status === "disabled" || current.connectivityMode !== "push") return false;
      const status = result.ok ? "connected" : "disconnected";
      await tx.cluster.update({
        where: { id: cluster.id },
        data: result.ok
          ? {
              status,
              registeredAt: current.registeredAt ?? now,
              lastSeenAt: now,
              kubernetesVersion: result.kubernetesVersion,
            }
          : { status },
      });
      if (row.validationReason !== reason || current.status !== status) {
        await audit.record(
          {
            source: "system",
            kind: result.ok ? "PushClusterConnected" : "PushClusterDisconnected",
            actor: "system",
            organizationId: cluster.organizationId,
            clusterId: cluster.id,
            data: result.ok
              ? { kubernetesVersion: result.kubernetesVersion }
              : { reason, message, ...(result.missing ? { missing: result.missing } : {}) },
          },
          tx,
        );
      }
      return current.status !== status;
    });
    if (statusChanged) await notifier.clusterChanged(cluster.id);
  }

  /** The cluster and, for a push cluster, its credential's view (null when none is stored). */
  async function clusterView(organizationId: string, clusterId: string) {
    const cluster = await clusterOfOrganization(db, organizationId, clusterId);
    if (cluster.connectivityMode !== "push") return { cluster, push: undefined };
    const row = await db.pushCredential.findUnique({ where: { clusterId } });
    return { cluster, push: row ? toPushCredentialView(row) : null };
  }

  /** Push clusters with a kubeconfig, not disabled: what the worker validates and watches. */
  async function pushClusterIds(): Promise<string[]> {
    const rows = await db.pushCredential.findMany({
      where: { cluster: { connectivityMode: "push", status: { not: "disabled" } } },
      select: { clusterId: true },
      orderBy: { clusterId: "asc" },
    });
    return rows.map((row) => row.clusterId);
  }

  /** Re-validates every push cluster (the worker's maintenance job, every few minutes). */
  async function revalidateAll(onError?: (error: unknown, clusterId: string) => void) {
    let validated = 0;
    for (const clusterId of await pushClusterIds()) {
      try {
        if (await validateStored(clusterId)) validated += 1;
      } catch (error) {
        onError?.(error, clusterId);
      }
    }
    return { validated };
  }

  return { set, remove, kubeconfigOf, validateStored, clusterView, pushClusterIds, revalidateAll };
}

export type PushCredentialsService = ReturnType<typeof createPushCredentialsService>;
