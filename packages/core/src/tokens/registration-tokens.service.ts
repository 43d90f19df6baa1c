import { formatRegistrationToken, parseRegistrationToken } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import type { CredentialsService } from "../credentials/credentials.service.ts";
import type { Db, RegistrationToken } from "../db.ts";
import { conflict, DomainError, notFound } from "../errors.ts";
import { randomHex } from "../hashing.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { hashSecret, verifySecret } from "./argon2.ts";

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  credentials: CredentialsService;
  notifier: ChangeNotifier;
}

export type TokenStatus = "active" | "consumed" | "revoked" | "expired";

export function tokenStatus(token: RegistrationToken, now: Date): TokenStatus {
  if (token.consumedAt) return "consumed";
  if (token.revokedAt) return "revoked";
  if (token.expiresAt <= now) return "expired";
  return "active";
}

/** Marks a refusal the rate limiter must count (every failed registration does). */
export class RegistrationRefused extends DomainError {}

const refuse = (status: 401 | 403, code: string, message: string) =>
  new RegistrationRefused(status, code, message);

/** One-time registration tokens and their exchange for an agent credential. */
export function createRegistrationTokensService({ db, clock, audit, credentials, notifier }: Deps) {
  async function issue(actor: Actor, clusterId: string, ttlSeconds: number) {
    const cluster = await db.cluster.findFirst({
      where: { id: clusterId, organizationId: actor.organizationId },
    });
    if (!cluster) throw notFound(`cluster ${clusterId} not found`);
    if (cluster.status === "disabled") throw conflict("cluster_disabled", "cluster is disabled");
    const lookupId = randomHex(8);
    const secret = randomHex(20);
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const secretHash = await hashSecret(secret);
    await db.$transaction(async (tx) => {
      await tx.registrationToken.create({
        data: {
          id: lookupId,
          clusterId,
          secretHash,
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
          data: { tokenId: lookupId, apiKeyId: actor.id, expiresAt: expiresAt.toISOString() },
        },
        tx,
      );
    });
    return { token: formatRegistrationToken(lookupId, secret), tokenId: lookupId, expiresAt };
  }

  async function list(organizationId: string, clusterId: string) {
    const cluster = await db.cluster.findFirst({
      where: { id: clusterId, organizationId },
      select: { id: true },
    });
    if (!cluster) throw notFound(`cluster ${clusterId} not found`);
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

  /**
   * Exchanges a registration token for an agent credential. The format and checksum are
   * checked before the database or argon2 are touched; the token is consumed by one atomic
   * conditional UPDATE, so however many exchanges race, one wins.
   */
  async function exchange(input: { token: string; clusterId?: string | undefined; clientAddress: string }) {
    const parsed = parseRegistrationToken(input.token);
    if (!parsed) throw refuse(401, "invalid_token", "registration token is malformed");

    const record = await db.registrationToken.findUnique({
      where: { id: parsed.lookupId },
      include: {
        cluster: {
          select: {
            id: true,
            organizationId: true,
            status: true,
            signingPublicKey: true,
            signPayloads: true,
          },
        },
      },
    });
    const now = clock.now();
    if (!record || tokenStatus(record, now) !== "active") {
      throw refuse(401, "invalid_token", "registration token is unknown, expired, revoked or already used");
    }
    if (!(await verifySecret(record.secretHash, parsed.secret))) {
      throw refuse(401, "invalid_token", "registration token is unknown, expired, revoked or already used");
    }
    if (input.clusterId && input.clusterId !== record.clusterId) {
      throw refuse(403, "cluster_mismatch", "the registration token is bound to another cluster identity");
    }
    if (record.cluster.status === "disabled") throw refuse(403, "cluster_disabled", "cluster is disabled");

    const issued = await db.$transaction(async (tx) => {
      const consumed = await tx.registrationToken.updateMany({
        where: { id: record.id, consumedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { consumedAt: now, consumedFromAddress: input.clientAddress },
      });
      if (consumed.count !== 1) return null;
      const credential = await credentials.issue(record.clusterId, tx);
      await tx.cluster.update({
        where: { id: record.clusterId },
        data: { status: "connected", registeredAt: now, lastSeenAt: now },
      });
      await audit.record(
        {
          source: "agent",
          kind: "RegistrationTokenExchanged",
          actor: record.clusterId,
          organizationId: record.cluster.organizationId,
          clusterId: record.clusterId,
          data: { tokenId: record.id, clientAddress: input.clientAddress, credentialId: credential.id },
        },
        tx,
      );
      return credential;
    });
    if (!issued)
      throw refuse(401, "invalid_token", "registration token is unknown, expired, revoked or already used");
    await notifier.clusterChanged(record.clusterId);
    return {
      clusterId: record.clusterId,
      token: issued.token,
      expiresAt: issued.expiresAt,
      signingPublicKey: record.cluster.signingPublicKey,
      signPayloads: record.cluster.signPayloads,
    };
  }

  return { issue, list, revoke, exchange };
}

export type RegistrationTokensService = ReturnType<typeof createRegistrationTokensService>;
