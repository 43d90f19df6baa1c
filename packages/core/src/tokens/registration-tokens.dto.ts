import type { IssuedToken, RegisterResponse, RegistrationTokenInfo } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { RegistrationToken } from "../db.ts";
import type { TokenStatus } from "./token-exchange.ts";

/** A registration token just issued (its secret shown once), with the GitOps secret command if any. */
export function toIssuedToken(issued: {
  token: string;
  tokenId: string;
  expiresAt: Date;
  secretCommand?: string;
}): IssuedToken {
  return {
    token: issued.token,
    tokenId: issued.tokenId,
    expiresAt: issued.expiresAt.toISOString(),
    ...(issued.secretCommand ? { secretCommand: issued.secretCommand } : {}),
  };
}

/** A cluster's registration token as listed (never its secret). */
export function toRegistrationTokenInfo(
  token: RegistrationToken & { status: TokenStatus },
): RegistrationTokenInfo {
  return {
    id: token.id,
    createdAt: token.createdAt.toISOString(),
    expiresAt: token.expiresAt.toISOString(),
    consumedAt: isoOrNull(token.consumedAt),
    revokedAt: isoOrNull(token.revokedAt),
    status: token.status,
  };
}

/** The agent's answer to a registration: its credential, and how its jobs are signed. */
export function toRegisterResponse(result: {
  clusterId: string;
  token: string;
  expiresAt: Date | null;
  signingPublicKey: string | null;
  signPayloads: boolean;
}): RegisterResponse {
  return {
    clusterId: result.clusterId,
    token: result.token,
    ...(result.expiresAt ? { expiresAt: result.expiresAt.toISOString() } : {}),
    ...(result.signingPublicKey ? { signingPublicKey: result.signingPublicKey } : {}),
    signPayloads: result.signPayloads,
  };
}
