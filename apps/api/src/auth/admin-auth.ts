import { type ApiKeyPrincipal, type ApiKeyScope, DomainError, hasScope, unauthorized } from "@vwksp/core";
import type { FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { basicPassword, bearerToken } from "./bearer.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: ApiKeyPrincipal;
  }
}

/** Reads `Authorization: Bearer vwksp-key-…` (or `X-Api-Key`, or a Basic password). */
function presentedKey(request: FastifyRequest): string | undefined {
  if (request.headers.authorization) return bearerToken(request) ?? basicPassword(request);
  const apiKey = request.headers["x-api-key"];
  return typeof apiKey === "string" ? apiKey.trim() : undefined;
}

/**
 * preHandler factory: the request must carry a live API key holding `scope`. A missing or
 * unknown key counts toward the address's limit of failed admin authentications (kept apart from
 * the agents' count): guessing keys gets 429 as guessing tokens does.
 */
export function requireScope(deps: ApiDeps, scope: ApiKeyScope) {
  return async (request: FastifyRequest) => {
    deps.adminFailureLimiter.check(request.ip);
    const key = presentedKey(request);
    const principal = key ? await deps.apiKeys.authenticate(key) : null;
    if (!principal) {
      await deps.adminFailureLimiter.recordFailure(request.ip, request.log);
      throw key
        ? unauthorized("invalid or revoked API key")
        : unauthorized("missing API key (Authorization: Bearer vwksp-key-…)");
    }
    if (!hasScope(principal.scopes, scope)) {
      throw new DomainError(403, "insufficient_scope", `this API key lacks the scope ${scope}`);
    }
    request.principal = principal;
  };
}

/** The authenticated principal; only call after requireScope ran. */
export function principalOf(request: FastifyRequest): ApiKeyPrincipal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

/** The principal as the actor of a registry change (audit trail: which API key). */
export const actorOf = (principal: ApiKeyPrincipal) => ({
  id: principal.keyId,
  organizationId: principal.organizationId,
});
