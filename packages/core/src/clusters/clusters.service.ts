import { type CreateClusterBody, OPEN_JOB_STATES, type UpdateClusterBody } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import { type Cluster, type Db, Prisma } from "../db.ts";
import { conflict } from "../errors.ts";
import { clusterDirectory } from "../gitops/gitops-engine.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { writeJobsClosed } from "../outbox/outbox.ts";
import { afterCursor, CURSOR_IDS, decodeCursor, pageOf } from "../pagination.ts";
import { clusterOfOrganization } from "./cluster-of-organization.ts";
import { plainSigningKeys, type SigningKeyVault } from "./signing-keys.ts";
import { slugCandidate, slugify } from "./slug.ts";

export interface Actor {
  /** API key id for admins; "odoo" for the bridge. */
  id: string;
  organizationId: string;
}

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  /** How signing private keys are stored (sealed when SECRET_KEY is set). */
  signingKeys?: SigningKeyVault;
  /**
   * Settings Odoo owns while the Odoo bridge is on (setting → Odoo field): an admin's change of
   * one is refused, since the next pull would revert it (odoo-sync/ownership.ts).
   */
  ownedByOdoo?: () => Promise<Partial<Record<keyof UpdateClusterBody, string>>>;
}

/** Who turns a cluster off or on, and why (the audit entry says). */
export interface StatusChange {
  source?: "user" | "system";
  reason?: string;
  /** Columns set in the same transaction (the Odoo bridge's bookkeeping). */
  also?: Prisma.ClusterUpdateInput;
}

const isUniqueViolation = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/** The allow-lists: a change makes the worker check the jobs not yet delivered again. */
const POLICY_FIELDS = ["allowedNamespaces", "allowedCatalogEntries", "allowedOperationTemplates"] as const;

/** The cluster registry: identities created by admins (or Odoo) before any agent registers. */
export function createClustersService({
  db,
  clock,
  audit,
  notifier,
  signingKeys = plainSigningKeys,
  ownedByOdoo,
}: Deps) {
  async function create(
    actor: Actor,
    input: CreateClusterBody,
    source: "user" | "system" = "user",
    extra: { odooRecordId?: number } = {},
  ) {
    const base = input.slug ?? slugify(input.displayName);
    const keys = signingKeys.newKeyPair();
    for (let attempt = 1; attempt <= 20; attempt += 1) {
      const slug = input.slug ?? slugCandidate(base, attempt);
      try {
        const cluster = await db.$transaction(async (tx) => {
          if (extra.odooRecordId !== undefined) {
            const twin = await claimOdooRecord(tx, extra.odooRecordId);
            if (twin) return twin;
          }
          const created = await tx.cluster.create({
            data: {
              organizationId: actor.organizationId,
              slug,
              displayName: input.displayName,
              connectivityMode: input.connectivityMode,
              allowedNamespaces: input.allowedNamespaces,
              allowedCatalogEntries: input.allowedCatalogEntries,
              allowedOperationTemplates: input.allowedOperationTemplates,
              signPayloads: input.signPayloads,
              ...keys,
              ...extra,
              createdAt: clock.now(),
            },
          });
          await audit.record(
            {
              source,
              kind: "ClusterCreated",
              actor: actor.id,
              organizationId: actor.organizationId,
              clusterId: created.id,
              data: { slug, displayName: input.displayName },
            },
            tx,
          );
          return created;
        });
        await notifier.clusterChanged(cluster.id);
        return cluster;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (input.slug)
          throw conflict("slug_taken", `slug "${input.slug}" is already used in this organization`);
      }
    }
    throw conflict("slug_taken", `no free slug derived from "${base}"`);
  }

  /** A cluster of the actor's organization; another organization's cluster is a 404. */
  async function get(organizationId: string, id: string): Promise<Cluster> {
    return clusterOfOrganization(db, organizationId, id);
  }

  async function list(
    organizationId: string,
    query: {
      slug?: string | undefined;
      status?: Cluster["status"] | undefined;
      limit: number;
      cursor?: string | undefined;
    },
  ) {
    const rows = await db.cluster.findMany({
      where: {
        organizationId,
        ...(query.slug ? { slug: query.slug } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...afterCursor("createdAt", decodeCursor(query.cursor, CURSOR_IDS.uuid)),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: query.limit + 1,
    });
    return pageOf(rows, query.limit, (row) => row.createdAt);
  }

  async function update(
    actor: Actor,
    id: string,
    changes: UpdateClusterBody,
    source: "user" | "system" = "user",
  ) {
    const before = await get(actor.organizationId, id);
    const changed = Object.fromEntries(
      Object.entries(changes).filter(
        ([key, value]) =>
          value !== undefined && JSON.stringify(value) !== JSON.stringify(before[key as keyof Cluster]),
      ),
    );
    if (Object.keys(changed).length === 0) return before;
    if (source === "user" && ownedByOdoo) refuseOdooOwned(Object.keys(changed), await ownedByOdoo());
    if ("slug" in changed) await refuseSlugOfGitOpsBinding(id, before.slug);
    try {
      const cluster = await db.$transaction(async (tx) => {
        const policyChanged = POLICY_FIELDS.some((field) => field in changed);
        const updated = await tx.cluster.update({
          where: { id },
          data: { ...changed, ...(policyChanged ? { policyVersion: { increment: 1 } } : {}) },
        });
        if (policyChanged) {
          // Jobs already ready go back to the worker, which checks them against the new
          // allow-lists (the reconciler hands them over); those delivered are the agent's.
          await tx.job.updateMany({
            where: { clusterId: id, state: "ready" },
            data: { state: "queued", readyAt: null },
          });
        }
        await audit.record(
          {
            source,
            kind: "ClusterUpdated",
            actor: actor.id,
            organizationId: actor.organizationId,
            clusterId: id,
            data: { changed },
          },
          tx,
        );
        return updated;
      });
      await notifier.clusterChanged(id);
      return cluster;
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict("slug_taken", `slug "${changes.slug}" is already used in this organization`);
      throw error;
    }
  }

  /**
   * A bound GitOps cluster's manifests live under `<path>/<slug>/`, the directory its Flux
   * Kustomization follows: a new slug would write jobs where Flux never looks. Changing it takes
   * an unbind, the change, a new binding and Flux pointed at the new directory.
   */
  async function refuseSlugOfGitOpsBinding(clusterId: string, slug: string) {
    const binding = await db.gitOpsBinding.findUnique({ where: { clusterId }, select: { path: true } });
    if (!binding) return;
    const directory = clusterDirectory(binding.path, slug);
    throw conflict(
      "slug_bound_to_gitops",
      `the cluster's manifests are in ${directory}/ of its GitOps repository, which its Flux follows; ` +
        "remove the binding (DELETE /api/v1/clusters/{id}/gitops), change the slug, bind again and point Flux at the new directory",
    );
  }

  /** Disables the cluster: its agent gets 403 from now on and its open jobs are cancelled. */
  async function disable(actor: Actor, id: string, change: StatusChange = {}) {
    const before = await get(actor.organizationId, id);
    if (before.status === "disabled") {
      return change.also ? db.cluster.update({ where: { id }, data: change.also }) : before;
    }
    const now = clock.now();
    const cluster = await db.$transaction(async (tx) => {
      const updated = await tx.cluster.update({
        where: { id },
        data: { ...change.also, status: "disabled", disabledAt: now },
      });
      const cancelled = await tx.job.updateManyAndReturn({
        where: { clusterId: id, state: { in: [...OPEN_JOB_STATES] } },
        data: { state: "cancelled", finishedAt: now, leaseExpiresAt: null, error: "cluster disabled" },
        select: { id: true },
      });
      await writeJobsClosed(
        tx,
        cancelled.map((job) => job.id),
        now,
      );
      await audit.record(
        statusAudit(actor, id, "ClusterDisabled", change, { cancelledJobs: cancelled.length }),
        tx,
      );
      return updated;
    });
    await notifier.clusterAuthChanged(id);
    await notifier.clusterChanged(id);
    await notifier.outboxWritten();
    return cluster;
  }

  /**
   * Undoes `disable` (the Odoo bridge, when a record is unarchived): pending until an agent has
   * registered, disconnected until its next heartbeat otherwise. Its credentials work again.
   */
  async function enable(actor: Actor, id: string, change: StatusChange = {}) {
    const before = await get(actor.organizationId, id);
    if (before.status !== "disabled") {
      return change.also ? db.cluster.update({ where: { id }, data: change.also }) : before;
    }
    const cluster = await db.$transaction(async (tx) => {
      const updated = await tx.cluster.update({
        where: { id },
        data: { ...change.also, status: before.registeredAt ? "disconnected" : "pending", disabledAt: null },
      });
      await audit.record(statusAudit(actor, id, "ClusterEnabled", change), tx);
      return updated;
    });
    await notifier.clusterAuthChanged(id);
    await notifier.clusterChanged(id);
    return cluster;
  }

  /**
   * Seals under SECRET_KEY the signing keys stored in plain PEM (made before the secret
   * was set) or sealed under a previous key (SECRET_KEY_PREVIOUS); a no-op without
   * the secret. Returns how many it sealed.
   */
  async function sealSigningKeys(): Promise<number> {
    if (!signingKeys.sealing) return 0;
    const opensHere = [signingKeys.keyId, ...signingKeys.previousKeyIds].map(
      (keyId) => ({ signingPrivateKey: { startsWith: `vwksp-sealed:v1:${keyId}:` } }) as const,
    );
    // A key sealed under a secret this process does not have means it was given the wrong one:
    // sealing more under it would leave keys that no single secret opens.
    const foreign = await db.cluster.findFirst({
      where: { signingPrivateKey: { startsWith: "vwksp-sealed:" }, NOT: { OR: opensHere } },
      select: { id: true },
    });
    if (foreign) {
      throw new Error(
        `cluster ${foreign.id} has a signing key sealed under another SECRET_KEY; nothing sealed`,
      );
    }
    let sealed = 0;
    let after: string | undefined;
    for (;;) {
      const batch = await db.cluster.findMany({
        where: {
          ...(after ? { id: { gt: after } } : {}),
          signingPrivateKey: { not: null },
          NOT: { signingPrivateKey: { startsWith: `vwksp-sealed:v1:${signingKeys.keyId}:` } },
        },
        select: { id: true, signingPrivateKey: true },
        orderBy: { id: "asc" },
        take: 500,
      });
      if (batch.length === 0) return sealed;
      for (const { id, signingPrivateKey } of batch) {
        after = id;
        if (!signingPrivateKey || !signingKeys.needsSealing(signingPrivateKey)) continue;
        // Only if unchanged meanwhile: a concurrent run may have sealed it already.
        const updated = await db.cluster.updateMany({
          where: { id, signingPrivateKey },
          data: { signingPrivateKey: signingKeys.reseal(signingPrivateKey) },
        });
        sealed += updated.count;
      }
    }
  }

  return { create, get, list, update, disable, enable, sealSigningKeys };
}

export type ClustersService = ReturnType<typeof createClustersService>;

/** Advisory lock space of Odoo records being turned into clusters (see claimOdooRecord). */
const ODOO_RECORD_LOCK = 0x0d00;

/**
 * One cluster per Odoo record, however many sync jobs take a new record at once (a webhook's read
 * and a pull, say): the second waits for the first's commit and gets its cluster back.
 */
async function claimOdooRecord(tx: Prisma.TransactionClient, odooRecordId: number) {
  await tx.$queryRaw`SELECT 1 AS locked FROM pg_advisory_xact_lock(${ODOO_RECORD_LOCK}::int, ${odooRecordId}::int)`;
  return tx.cluster.findFirst({ where: { odooRecordId, odooRemovedAt: null } });
}

/** The audit entry of a cluster turned off or on. */
function statusAudit(
  actor: Actor,
  clusterId: string,
  kind: "ClusterDisabled" | "ClusterEnabled",
  change: StatusChange,
  data: Record<string, unknown> = {},
) {
  return {
    source: change.source ?? "user",
    kind,
    actor: actor.id,
    organizationId: actor.organizationId,
    clusterId,
    data: change.reason ? { ...data, reason: change.reason } : data,
  };
}

/** 409 `owned_by_odoo` naming the first setting the change touches that Odoo owns. */
function refuseOdooOwned(changedKeys: string[], owned: Partial<Record<string, string>>): void {
  const setting = changedKeys.find((key) => owned[key] !== undefined);
  if (setting === undefined) return;
  throw conflict(
    "owned_by_odoo",
    `${setting} is owned by Odoo while the Odoo bridge is on (Odoo field ${owned[setting]}): change it in Odoo's Cluster Registry`,
  );
}
