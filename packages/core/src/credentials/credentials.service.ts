import { AGENT_CREDENTIAL_PREFIX, isAgentCredentialFormat } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import { createBatcher } from "../batching.ts";
import type { Clock } from "../clock.ts";
import { requireClusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { type Db, type Prisma, prepared } from "../db.ts";
import { conflict, DomainError, forbidden } from "../errors.ts";
import { randomHex, sha256Hex } from "../hashing.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { supersedeCredentials } from "./supersede.ts";

export interface AgentPrincipal {
  clusterId: string;
  organizationId: string;
  credentialId: string;
  /** When the credential stops working (ms since the epoch), or null for never. */
  expiresAt: number | null;
}

interface CachedCredential extends AgentPrincipal {
  revoked: boolean;
  /** Replaced by a rotation: once expired, its grace period is over. */
  rotated: boolean;
  clusterDisabled: boolean;
  cachedUntil: number;
}

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  /** Lifetime of a new credential; undefined = no expiry. */
  ttlSeconds?: number | undefined;
  /** How long a rotated-away credential keeps working. */
  rotationGraceSeconds: number;
  /**
   * Backstop for a lost invalidation message; pub/sub is the normal path (and the cache is
   * dropped whole when the subscription reconnects). Well above the 30 s heartbeat interval,
   * so a steady agent's requests hit the cache.
   */
  cacheTtlMs?: number;
}

/** $1 token hashes. */
const CREDENTIALS_BY_HASH_SQL = `
  SELECT a."tokenHash" AS hash, a.id::text AS id, a."clusterId"::text AS "clusterId",
         c."organizationId"::text AS "organizationId", a."expiresAt", a."revokedAt", c.status::text AS status,
         a."awaitingFirstUse" AS "awaitingFirstUse", a."rotatedAt" IS NOT NULL AS rotated
  FROM "AgentCredential" a JOIN "Cluster" c ON c.id = a."clusterId"
  WHERE a."tokenHash" = ANY($1::text[])`;

/**
 * $1 credential ids: successors used for the first time. A successor revoked meanwhile (a repeated
 * rotation replaced it) is not marked and comes back missing: its request is refused.
 */
const MARK_USED_SQL = `
  UPDATE "AgentCredential" SET "awaitingFirstUse" = false
  WHERE id = ANY($1::uuid[]) AND "revokedAt" IS NULL
  RETURNING id::text AS id`;

interface CredentialRow {
  hash: string;
  id: string;
  clusterId: string;
  organizationId: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  status: string;
  awaitingFirstUse: boolean;
  rotated: boolean;
}

/** Why a credential this service knows no longer works. */
export type RefusedCredentialState = "rotated" | "revoked" | "expired";

/**
 * An authentication failure the rate limiter must count. `refusedCredential` names the cluster
 * of a known credential that stopped working, and why: its failures count against that cluster
 * too, and an agent still polling with it has a broken job channel (health/job-channel.ts).
 * Never in the answer.
 */
export class AuthenticationRefused extends DomainError {
  constructor(readonly refusedCredential?: { clusterId: string; state: RefusedCredentialState }) {
    super(401, "unauthorized", "agent credential is missing, malformed, expired, revoked or unknown");
  }

  get clusterId(): string | undefined {
    return this.refusedCredential?.clusterId;
  }
}

function refused(entry?: CachedCredential) {
  if (!entry) return new AuthenticationRefused();
  const state = entry.revoked ? "revoked" : entry.rotated ? "rotated" : "expired";
  return new AuthenticationRefused({ clusterId: entry.clusterId, state });
}

type Tx = Pick<Db, "agentCredential">;

const successorInUse = () =>
  conflict(
    "credential_rotated",
    "this credential was rotated and its successor is in use: authenticate with the successor",
  );

/**
 * Agent credentials `vwksp-agt-<64 hex>` (256 random bits), stored as SHA-256: a random secret
 * of that size needs no slow hash. Verified per request from a short in-process cache keyed by
 * the hash; revocation and rotation drop entries on every process via `invalidateCluster`.
 */
export function createCredentialsService({
  db,
  clock,
  audit,
  notifier,
  ttlSeconds,
  rotationGraceSeconds,
  cacheTtlMs = 30_000,
}: Deps) {
  const cache = new Map<string, CachedCredential>();
  const hashesByCluster = new Map<string, Set<string>>();

  function remember(hash: string, entry: CachedCredential) {
    if (cache.size >= 100_000) {
      cache.clear();
      hashesByCluster.clear();
    }
    cache.set(hash, entry);
    const hashes = hashesByCluster.get(entry.clusterId) ?? new Set<string>();
    hashes.add(hash);
    hashesByCluster.set(entry.clusterId, hashes);
  }

  const invalidationListeners = new Set<(clusterId: string | null) => void>();

  /**
   * Hears every invalidation (a cluster id, or null for all): requests that authenticated before
   * it — a long-poll still waiting — must check their credential again.
   */
  function onInvalidate(listener: (clusterId: string | null) => void) {
    invalidationListeners.add(listener);
    return () => invalidationListeners.delete(listener);
  }

  /** Forgets every cached credential (after a gap in the invalidation messages). */
  function invalidateAll() {
    cache.clear();
    hashesByCluster.clear();
    for (const listener of invalidationListeners) listener(null);
  }

  /** Forgets everything cached about a cluster's credentials (called on every process). */
  function invalidateCluster(clusterId: string) {
    for (const hash of hashesByCluster.get(clusterId) ?? []) cache.delete(hash);
    hashesByCluster.delete(clusterId);
    for (const listener of invalidationListeners) listener(clusterId);
  }

  /**
   * A new credential for the cluster. Only a rotation's successor starts awaiting its first use
   * (see rotate); one issued at registration is handed over by the registration itself, so its
   * first request costs no write.
   */
  async function issue(clusterId: string, tx: Tx = db, kind: "registration" | "successor" = "registration") {
    const token = `${AGENT_CREDENTIAL_PREFIX}${randomHex(32)}`;
    const now = clock.now();
    const expiresAt = ttlSeconds ? new Date(now.getTime() + ttlSeconds * 1000) : null;
    const awaitingFirstUse = kind === "successor";
    const record = await tx.agentCredential.create({
      data: { clusterId, tokenHash: sha256Hex(token), createdAt: now, expiresAt, awaitingFirstUse },
      select: { id: true },
    });
    return { id: record.id, token, expiresAt };
  }

  // Lookups of credentials missing from the cache (after a restart, every agent's first
  // request) that arrive together share one statement.
  const lookups = createBatcher<string, CredentialRow | undefined>({
    async run(hashes) {
      const rows = await prepared<CredentialRow>(db, "credentials_by_hash", CREDENTIALS_BY_HASH_SQL, [
        hashes,
      ]);
      const byHash = new Map(rows.map((row) => [row.hash, row]));
      return hashes.map((hash) => byHash.get(hash));
    },
  });

  // A successor's first request is recorded once (see rotate); those that come together share one statement.
  const firstUses = createBatcher<string, boolean>({
    async run(ids) {
      const rows = await prepared<{ id: string }>(db, "credentials_mark_used", MARK_USED_SQL, [ids]);
      const marked = new Set(rows.map((row) => row.id));
      return ids.map((id) => marked.has(id));
    },
  });

  async function load(hash: string): Promise<CachedCredential | null> {
    const row = await lookups.submit(hash);
    if (!row) return null;
    const revokedMeanwhile =
      row.awaitingFirstUse && row.revokedAt === null && !(await firstUses.submit(row.id));
    // Jitter spreads the reloads of credentials cached at the same moment.
    const lifetime = cacheTtlMs * (0.9 + Math.random() * 0.2);
    return {
      clusterId: row.clusterId,
      organizationId: row.organizationId,
      credentialId: row.id,
      expiresAt: row.expiresAt?.getTime() ?? null,
      revoked: row.revokedAt !== null || revokedMeanwhile,
      rotated: row.rotated,
      clusterDisabled: row.status === "disabled",
      cachedUntil: clock.now().getTime() + lifetime,
    };
  }

  /** The agent behind a bearer credential; 401 for anything unusable, 403 for a disabled cluster. */
  async function authenticate(token: string | undefined): Promise<AgentPrincipal> {
    if (!token || !isAgentCredentialFormat(token)) throw refused();
    const hash = sha256Hex(token);
    const now = clock.now().getTime();
    let entry = cache.get(hash);
    if (!entry || entry.cachedUntil <= now) {
      const loaded = await load(hash);
      if (!loaded) throw refused();
      remember(hash, loaded);
      entry = loaded;
    }
    if (entry.revoked || (entry.expiresAt !== null && entry.expiresAt <= now)) throw refused(entry);
    if (entry.clusterDisabled) throw forbidden("cluster_disabled", "this cluster is disabled");
    return {
      clusterId: entry.clusterId,
      organizationId: entry.organizationId,
      credentialId: entry.credentialId,
      expiresAt: entry.expiresAt,
    };
  }

  /**
   * A new credential; the presented one keeps working for the grace period, then 401.
   *
   * Rotating a credential that was rotated already is how an agent recovers a lost answer (it
   * never got its successor): allowed while that successor has never been used, which it then
   * revokes — one successor at a time, and the grace period is not extended. Once the successor
   * is in use, the presented credential can no longer mint another (409).
   */
  async function rotate(principal: AgentPrincipal) {
    const now = clock.now();
    const graceEnd = new Date(now.getTime() + rotationGraceSeconds * 1000);
    const issued = await db.$transaction(async (tx: Prisma.TransactionClient) => {
      // Locked, so two rotations of one credential cannot both pass the check below.
      await tx.$queryRaw`SELECT id FROM "AgentCredential" WHERE id = ${principal.credentialId}::uuid FOR UPDATE`;
      const current = await tx.agentCredential.findUniqueOrThrow({ where: { id: principal.credentialId } });
      let expiresAt = current.expiresAt && current.expiresAt < graceEnd ? current.expiresAt : graceEnd;
      let replaced: string | undefined;
      if (current.rotatedAt) {
        const successor = current.replacedById
          ? await tx.agentCredential.findUnique({ where: { id: current.replacedById } })
          : null;
        // No successor on record (a rotation from before they were recorded) counts as one in use.
        if (!successor?.awaitingFirstUse || successor.rotatedAt !== null) {
          throw successorInUse();
        }
        // Only if still unused: its first request and this rotation cannot both win.
        const revoked = await tx.agentCredential.updateMany({
          where: { id: successor.id, awaitingFirstUse: true, revokedAt: null },
          data: { revokedAt: now },
        });
        if (revoked.count !== 1) {
          throw successorInUse();
        }
        replaced = successor.id;
        expiresAt = current.expiresAt ?? expiresAt;
      }
      const next = await issue(principal.clusterId, tx, "successor");
      await tx.agentCredential.update({
        where: { id: current.id },
        data: { rotatedAt: current.rotatedAt ?? now, expiresAt, replacedById: next.id },
      });
      await audit.record(
        {
          source: "agent",
          kind: "CredentialRotated",
          actor: principal.clusterId,
          organizationId: principal.organizationId,
          clusterId: principal.clusterId,
          data: {
            previousCredentialId: current.id,
            credentialId: next.id,
            previousValidUntil: expiresAt.toISOString(),
            ...(replaced ? { revokedUnusedCredentialId: replaced } : {}),
          },
        },
        tx,
      );
      return next;
    });
    invalidateCluster(principal.clusterId);
    await notifier.clusterAuthChanged(principal.clusterId);
    return issued;
  }

  /**
   * A registration issued `replacementId` to a cluster that had credentials: they keep working
   * for the rotation grace period, then stop. The caller commits, then tells every process.
   */
  async function supersedeOthers(clusterId: string, replacementId: string, tx: Prisma.TransactionClient) {
    const now = clock.now();
    const validUntil = new Date(now.getTime() + rotationGraceSeconds * 1000);
    const ids = await supersedeCredentials(tx, { clusterId, replacementId, now, validUntil });
    return { ids, validUntil };
  }

  /** Admin revocation: every credential of the cluster stops working at once. */
  async function revokeAll(actor: Actor, clusterId: string) {
    await requireClusterOfOrganization(db, actor.organizationId, clusterId);
    await db.$transaction(async (tx) => {
      const revoked = await tx.agentCredential.updateMany({
        where: { clusterId, revokedAt: null },
        data: { revokedAt: clock.now() },
      });
      await audit.record(
        {
          source: "user",
          kind: "CredentialsRevoked",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
          data: { revoked: revoked.count },
        },
        tx,
      );
    });
    invalidateCluster(clusterId);
    await notifier.clusterAuthChanged(clusterId);
  }

  return {
    issue,
    authenticate,
    rotate,
    supersedeOthers,
    revokeAll,
    invalidateCluster,
    invalidateAll,
    onInvalidate,
  };
}

export type CredentialsService = ReturnType<typeof createCredentialsService>;
