import { formatRegistrationToken } from "@vwksp/protocol";
import { clusterOfOrganization, requireClusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { conflict, notFound } from "../errors.ts";
import { randomHex } from "../hashing.ts";
import { type Argon2Pool, argon2Pool } from "./argon2.ts";
import { createSecretChecker, secretTagOf } from "./secret-check.ts";
import { createTokenExchange, type TokenExchangeDeps, tokenStatus } from "./token-exchange.ts";

export { RegistrationRefused, type TokenStatus, tokenStatus, type VerifiedToken } from "./token-exchange.ts";

interface Deps extends Omit<TokenExchangeDeps, "secrets"> {
  /** argon2 with its bounds; the process-wide pool unless a test brings its own. */
  argon2?: Argon2Pool;
  /**
   * How a new token reaches a cluster that cannot be handed it through the control plane
   * (GitOps mode: a `kubectl create secret` line, never the repository); asked for GitOps clusters only.
   */
  secretCommandFor?: (clusterId: string, token: string) => Promise<string | undefined>;
}

/** One-time registration tokens and their exchange for an agent credential. */
export function createRegistrationTokensService({
  db,
  clock,
  audit,
  credentials,
  notifier,
  argon2 = argon2Pool,
  secretCommandFor,
}: Deps) {
  const tokenExchange = createTokenExchange({
    db,
    clock,
    audit,
    credentials,
    notifier,
    secrets: createSecretChecker(argon2),
  });

  /**
   * A new token for the cluster, which revokes the cluster's older unused ones: at most one token
   * per cluster is live, so a token handed out earlier (and perhaps mislaid) stops working the
   * moment its replacement exists.
   */
  async function issue(actor: Actor, clusterId: string, ttlSeconds: number) {
    const cluster = await clusterOfOrganization(db, actor.organizationId, clusterId);
    if (cluster.status === "disabled") throw conflict("cluster_disabled", "cluster is disabled");
    const lookupId = randomHex(8);
    const secret = randomHex(20);
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const secretHash = await argon2.hashSecret(secret);
    await db.$transaction(async (tx) => {
      // Concurrent issues for one cluster take turns, so they cannot each leave a live token.
      await tx.$queryRaw`SELECT id FROM "Cluster" WHERE id = ${clusterId}::uuid FOR NO KEY UPDATE`;
      const revoked = await tx.registrationToken.updateManyAndReturn({
        where: { clusterId, consumedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { revokedAt: now },
        select: { id: true },
      });
      const revokedTokenIds = revoked.map((token) => token.id);
      await tx.registrationToken.create({
        data: {
          id: lookupId,
          clusterId,
          secretHash,
          secretTag: secretTagOf(secret),
          createdAt: now,
          expiresAt,
          createdByKeyId: actor.id === "odoo" ? null : actor.id,
        },
      });
      await audit.record(
        {
          source: "user",
          kind: "RegistrationTokenIssued",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
          data: {
            tokenId: lookupId,
            apiKeyId: actor.id,
            expiresAt: expiresAt.toISOString(),
            ...(revokedTokenIds.length > 0 ? { revokedTokenIds } : {}),
          },
        },
        tx,
      );
    });
    const token = formatRegistrationToken(lookupId, secret);
    const secretCommand =
      cluster.connectivityMode === "gitops" ? await secretCommandFor?.(clusterId, token) : undefined;
    return { token, tokenId: lookupId, expiresAt, ...(secretCommand ? { secretCommand } : {}) };
  }

  async function list(organizationId: string, clusterId: string) {
    await requireClusterOfOrganization(db, organizationId, clusterId);
    const now = clock.now();
    const rows = await db.registrationToken.findMany({
      where: { clusterId },
      orderBy: { createdAt: "desc" },
      take: 200,
    });
    return rows.map((row) => ({ ...row, status: tokenStatus(row, now) }));
  }

  async function revoke(actor: Actor, clusterId: string, tokenId: string) {
    const token = await db.registrationToken.findFirst({
      where: { id: tokenId, clusterId, cluster: { organizationId: actor.organizationId } },
    });
    if (!token) throw notFound(`registration token ${tokenId} not found`);
    if (token.consumedAt)
      throw conflict(
        "token_consumed",
        "the token was already exchanged; revoke the cluster's credentials instead",
      );
    if (token.revokedAt) return;
    await db.$transaction(async (tx) => {
      await tx.registrationToken.update({ where: { id: tokenId }, data: { revokedAt: clock.now() } });
      await audit.record(
        {
          source: "user",
          kind: "RegistrationTokenRevoked",
          actor: actor.id,
          organizationId: actor.organizationId,
          clusterId,
          data: { tokenId },
        },
        tx,
      );
    });
  }

  return {
    issue,
    list,
    revoke,
    /** Checks a presented token without consuming it (the route does it before reading a body). */
    verify: tokenExchange.verify,
    /** Consumes a token verify() accepted. */
    complete: tokenExchange.complete,
    exchange: tokenExchange.exchange,
  };
}

export type RegistrationTokensService = ReturnType<typeof createRegistrationTokensService>;
