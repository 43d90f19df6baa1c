import {
  type ApiKeyPrincipal,
  type ApiKeyScope,
  type ApiKeysService,
  apiKeyFailureIdentity,
  DomainError,
  hasScope,
  unauthorized,
} from "@vwksp/core";
import type { FastifyRequest } from "fastify";
import { basicPassword, bearerToken } from "./bearer.ts";
import type { FailureLimiter } from "./failure-limiter.ts";

/** What admin authentication uses, and nothing more. */
export interface AdminAuthDeps {
  apiKeys: Pick<ApiKeysService, "authenticate">;
  adminFailures: FailureLimiter;
}

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
 * preHandler factory: the request must carry a live API key holding `scope`. The key is checked
 * first, so a live key is served whatever its address did; a missing or unknown key counts toward
 * the limit of failed admin authentications of its address and key prefix (kept apart from the
 * agents' counts), and past it the answer is 429 instead of 401.
 */
export function requireScope(deps: AdminAuthDeps, scope: ApiKeyScope) {
  const check = async (request: FastifyRequest) => {
    const key = presentedKey(request);
    const principal = key ? await deps.apiKeys.authenticate(key) : null;
    if (!principal) {
      const refusal = key
        ? unauthorized("invalid or revoked API key")
        : unauthorized("missing API key (Authorization: Bearer vwksp-key-…)");
      const identity = key ? apiKeyFailureIdentity(key) : undefined;
      throw await deps.adminFailures.refuse({ address: request.ip, identity }, refusal, request.log);
    }
    if (!hasScope(principal.scopes, scope)) {
      throw new DomainError(403, "insufficient_scope", `this API key lacks the scope ${scope}`);
    }
    request.principal = principal;
  };
  // The OpenAPI document lists the scope in the operation's security requirement (openapi.ts).
  return Object.assign(check, { scope });
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
