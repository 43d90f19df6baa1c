import { parseRegistrationToken } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { CredentialsService } from "../credentials/credentials.service.ts";
import type { Db, RegistrationToken } from "../db.ts";
import { DomainError, forbidden } from "../errors.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { writeOutbox } from "../outbox/outbox.ts";
import type { SecretChecker } from "./secret-check.ts";

export type TokenStatus = "active" | "consumed" | "revoked" | "expired";

export function tokenStatus(
  token: Pick<RegistrationToken, "consumedAt" | "revokedAt" | "expiresAt">,
  now: Date,
) {
  if (token.consumedAt) return "consumed" as const;
  if (token.revokedAt) return "revoked" as const;
  if (token.expiresAt <= now) return "expired" as const;
  return "active" as const;
}

/**
 * A failed registration, which the rate limiter counts (against the token's lookup id too, when
 * the token was well-formed). Only ever a 401: a token that could not be checked or did not match.
 */
export class RegistrationRefused extends DomainError {
  constructor(
    message: string,
    readonly lookupId?: string,
  ) {
    super(401, "invalid_token", message);
  }
}

const notUsable = (lookupId: string) =>
  new RegistrationRefused("registration token is unknown, expired, revoked or already used", lookupId);

export interface TokenExchangeDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  credentials: CredentialsService;
  notifier: ChangeNotifier;
  secrets: SecretChecker;
}

/**
 * Exchanges a registration token for an agent credential. The format and checksum are checked
 * before the database is touched; the secret by its tag, then argon2 (secret-check.ts), the same
 * way for an id that is not live. The token is consumed by one atomic conditional UPDATE, so
 * however many exchanges race, one wins.
 *
 * A cluster that registered before is re-registered: its credentials are superseded (working for
 * the rotation grace period, then not), audited as `ClusterReregistered` with the caller's address. That is how
 * a cluster whose credential was lost, or whose admin asked the operator to rotate credentials
 * with a fresh token, recovers.
 */
export function createTokenExchange({ db, clock, audit, credentials, notifier, secrets }: TokenExchangeDeps) {
  /**
   * The token's live record, if the token is well-formed, live and its secret matches; else a
   * RegistrationRefused (counted by the limiter). Nothing is consumed yet.
   */
  async function verify(token: string): Promise<VerifiedToken> {
    const parsed = parseRegistrationToken(token);
    if (!parsed) throw new RegistrationRefused("registration token is malformed");

    // One statement whether the id exists or not (an included relation would add a second one
    // for a known id only, and the time taken would tell).
    const record = await db.registrationToken.findUnique({ where: { id: parsed.lookupId } });
    const live = record && tokenStatus(record, clock.now()) === "active" ? record : null;
    // Checked also when the id is not live (against a dummy): the time taken must not tell.
    const matched = await secrets.matches(parsed.lookupId, live, parsed.secret);
    if (!matched || !live) throw notUsable(parsed.lookupId);
    return { token, record: live };
  }

  /** Consumes a verified token and issues the cluster's credential (see createTokenExchange). */
  async function complete(
    verified: VerifiedToken,
    input: { clusterId?: string | undefined; clientAddress: string },
  ) {
    const live = verified.record;
    const now = clock.now();
    // Whoever gets here holds the token: what follows is not a guess, and not counted as one.
    if (input.clusterId && input.clusterId !== live.clusterId) {
      throw forbidden("cluster_mismatch", "the registration token is bound to another cluster identity");
    }
    const cluster = await db.cluster.findUniqueOrThrow({
      where: { id: live.clusterId },
      select: {
        organizationId: true,
        status: true,
        signingPublicKey: true,
        signPayloads: true,
        registeredAt: true,
      },
    });
    if (cluster.status === "disabled") throw forbidden("cluster_disabled", "cluster is disabled");

    const issued = await db.$transaction(async (tx) => {
      const consumed = await tx.registrationToken.updateMany({
        where: { id: live.id, consumedAt: null, revokedAt: null, expiresAt: { gt: now } },
        data: { consumedAt: now, consumedFromAddress: input.clientAddress },
      });
      if (consumed.count !== 1) return null;
      const credential = await credentials.issue(live.clusterId, tx);
      const superseded = await credentials.supersedeOthers(live.clusterId, credential.id, tx);
      await tx.cluster.update({
        where: { id: live.clusterId },
        data: { status: "connected", registeredAt: now, lastSeenAt: now },
      });
      const entry = {
        source: "agent" as const,
        actor: live.clusterId,
        organizationId: cluster.organizationId,
        clusterId: live.clusterId,
      };
      const data = { tokenId: live.id, clientAddress: input.clientAddress, credentialId: credential.id };
      await audit.record({ ...entry, kind: "RegistrationTokenExchanged", data }, tx);
      await writeOutbox(
        tx,
        {
          kind: "ClusterConnected",
          organizationId: cluster.organizationId,
          clusterId: live.clusterId,
          data: { first: cluster.registeredAt === null },
        },
        now,
      );
      await writeOutbox(
        tx,
        {
          kind: "TokenConsumed",
          organizationId: cluster.organizationId,
          clusterId: live.clusterId,
          data: { tokenId: live.id, credentialId: credential.id },
        },
        now,
      );
      // Registered before: its credentials (if any still work) are superseded, and the trail says so.
      if (cluster.registeredAt) {
        await audit.record(
          {
            ...entry,
            kind: "ClusterReregistered",
            data: {
              ...data,
              supersededCredentialIds: superseded.ids,
              supersededValidUntil: superseded.validUntil.toISOString(),
            },
          },
          tx,
        );
      }
      return { credential, superseded: superseded.ids.length };
    });
    if (!issued) throw notUsable(live.id);
    // Other processes hold the superseded credentials in their caches without an expiry.
    if (issued.superseded > 0) await notifier.clusterAuthChanged(live.clusterId);
    await notifier.clusterChanged(live.clusterId);
    await notifier.outboxWritten();
    return {
      clusterId: live.clusterId,
      token: issued.credential.token,
      expiresAt: issued.credential.expiresAt,
      signingPublicKey: cluster.signingPublicKey,
      signPayloads: cluster.signPayloads,
      reregistered: cluster.registeredAt !== null,
    };
  }

  /** Verifies and consumes in one go (the body carried the token, or differs from the header's). */
  async function exchange(input: { token: string; clusterId?: string | undefined; clientAddress: string }) {
    return complete(await verify(input.token), input);
  }

  return { verify, complete, exchange };
}

/** A registration token whose secret matched a live record (not consumed yet). */
export interface VerifiedToken {
  token: string;
  record: RegistrationToken;
}
