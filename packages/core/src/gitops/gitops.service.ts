import type { GitOpsBinding as GitOpsBindingView, PutGitOpsBindingBody } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import { type Clock, isoOrNull } from "../clock.ts";
import { clusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { type Db, type GitOpsBinding, Prisma } from "../db.ts";
import { badRequest, conflict, notFound } from "../errors.ts";
import type { Sealer } from "../secrets/sealer.ts";
import {
  clusterDirectory,
  type GitOpsEnginePort,
  gitCredentialContext,
  normalizeFolder,
} from "./gitops-engine.ts";

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  /** Undefined without SECRET_KEY: no Git credential is then accepted. */
  sealer: Sealer | undefined;
  engine: Pick<GitOpsEnginePort, "validateBinding" | "registrationSecretCommand">;
}

/** The API's view of a binding: never the credential. */
export function toGitOpsBindingView(row: GitOpsBinding, slug: string): GitOpsBindingView {
  return {
    clusterId: row.clusterId,
    url: row.url,
    branch: row.branch,
    path: row.path,
    createBranch: row.createBranch,
    authType: row.authType as GitOpsBindingView["authType"],
    author: { name: row.authorName, email: row.authorEmail },
    directory: clusterDirectory(row.path, slug),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    health: {
      healthy: row.healthy,
      lastPushAt: isoOrNull(row.lastPushAt),
      lastError: row.lastError,
      lastErrorAt: isoOrNull(row.lastErrorAt),
      headCommit: row.headCommit,
    },
  };
}

/**
 * GitOps mode's repository bindings (docs/gitops-mode.md): one per gitops cluster, validated
 * against the remote before it is saved (reachable, branch present or creatable, credential may
 * push), the credential sealed under SECRET_KEY and bound to its cluster, an audit row per change.
 */
export function createGitOpsService({ db, audit, sealer, engine }: Deps) {
  async function set(actor: Actor, clusterId: string, body: PutGitOpsBindingBody) {
    const cluster = await clusterOfOrganization(db, actor.organizationId, clusterId);
    if (cluster.connectivityMode !== "gitops") {
      throw conflict(
        "not_gitops",
        `cluster ${cluster.slug} is in ${cluster.connectivityMode} mode; set connectivityMode to gitops first`,
      );
    }
    if (!sealer) {
      throw conflict(
        "secret_key_missing",
        "SECRET_KEY is not set: a Git credential is never stored unsealed; set SECRET_KEY on the API and the worker",
      );
    }
    const path = normalizeFolder(body.path);
    const binding = { ...body, path };
    const check = await engine.validateBinding(binding);
    if (!check.ok) {
      // The engine's messages name the remote and git's own lines, never a credential.
      throw badRequest("gitops_binding_invalid", `${check.reason}: ${check.message}`);
    }
    const data = {
      url: body.url,
      branch: body.branch,
      path,
      createBranch: body.createBranch,
      authType: body.auth.type,
      sealedCredential: sealer.seal(JSON.stringify(body.auth), gitCredentialContext(cluster.id)),
      authorName: body.author.name,
      authorEmail: body.author.email,
      healthy: true,
      lastError: null,
      lastErrorAt: null,
      headCommit: check.head,
      // A changed binding may point at another repository: the next job writes the whole directory.
      initializedAt: null,
    };
    const row = await db.$transaction(async (tx) => {
      const before = await tx.gitOpsBinding.findUnique({ where: { clusterId }, select: { clusterId: true } });
      const saved = await tx.gitOpsBinding.upsert({
        where: { clusterId },
        create: { clusterId, ...data },
        update: data,
      });
      // Judged again by the next push to this binding.
      await tx.cluster.update({ where: { id: clusterId }, data: { gitRepository: Prisma.DbNull } });
      await audit.record(
        {
          source: "user",
          kind: before ? "GitOpsBindingUpdated" : "GitOpsBindingCreated",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
          data: {
            url: body.url,
            branch: body.branch,
            path,
            createBranch: body.createBranch,
            authType: body.auth.type,
            author: body.author,
            head: check.head,
            serverVerified: check.serverVerified,
          },
        },
        tx,
      );
      return saved;
    });
    return toGitOpsBindingView(row, cluster.slug);
  }

  async function get(organizationId: string, clusterId: string) {
    const cluster = await clusterOfOrganization(db, organizationId, clusterId);
    const row = await db.gitOpsBinding.findUnique({ where: { clusterId } });
    if (!row) throw notFound(`cluster ${cluster.slug} has no GitOps binding`);
    return toGitOpsBindingView(row, cluster.slug);
  }

  /** The binding of a cluster already checked to be the caller's, or null (the cluster view). */
  async function find(clusterId: string, slug: string) {
    const row = await db.gitOpsBinding.findUnique({ where: { clusterId } });
    return row ? toGitOpsBindingView(row, slug) : null;
  }

  async function remove(actor: Actor, clusterId: string) {
    const cluster = await clusterOfOrganization(db, actor.organizationId, clusterId);
    await db.$transaction(async (tx) => {
      const deleted = await tx.gitOpsBinding.deleteMany({ where: { clusterId } });
      if (deleted.count === 0) throw notFound(`cluster ${cluster.slug} has no GitOps binding`);
      await tx.cluster.update({ where: { id: clusterId }, data: { gitRepository: Prisma.DbNull } });
      await audit.record(
        {
          source: "user",
          kind: "GitOpsBindingDeleted",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
        },
        tx,
      );
    });
  }

  /**
   * The admin's `kubectl` line for a gitops cluster's registration token (the token never goes
   * into Git), or undefined for other modes.
   */
  async function registrationSecretCommand(clusterId: string, token: string) {
    const cluster = await db.cluster.findUnique({
      where: { id: clusterId },
      select: { slug: true, connectivityMode: true },
    });
    if (cluster?.connectivityMode !== "gitops") return undefined;
    return engine.registrationSecretCommand(cluster.slug, token);
  }

  return { set, get, find, remove, registrationSecretCommand };
}

export type GitOpsService = ReturnType<typeof createGitOpsService>;
