import { AGENT_MEDIA_TYPE, ErrorEnvelope } from "@vwksp/protocol";
import { z } from "zod";

/** A 204 answer: no body. */
export const NoContent = z.null().describe("No content");

/**
 * What each error status means on this service (toEnvelope in errors.ts decides which one an
 * error becomes). The OpenAPI document uses these unless a route says more about its own.
 */
export const STANDARD_ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "The request is malformed: a body that is not JSON, a field or parameter that fails validation, or (admin API) an unknown field or query parameter; message names the field",
  401: "Missing, malformed, unknown, expired or revoked credentials",
  403: "Authenticated, but not allowed",
  404: "The resource does not exist or belongs to another organization",
  409: "The resource's state does not allow this",
  413: "The body is larger than the service accepts (1 MiB; 64 KiB when it is read before authentication)",
  415: "The body is not JSON (send Content-Type: application/json)",
  429: "Too many failed authentications from this address or for this credential; the Retry-After header says when to try again",
  500: "An unexpected error; the details are in the service's log under the requestId",
  503: "A dependency (PostgreSQL, Redis) is unreachable or the service is busy; retry after the Retry-After header's seconds",
};

/**
 * Declares the error envelope for statuses a route answers by its own logic (404, 409, …), with
 * an optional route-specific description: `errorResponses(404, { 409: "the cluster is disabled" })`.
 * The statuses every route of a kind can give (400 for invalid input, 401/403/429 for
 * authenticated routes, 413/415 for bodies, 500, 503) are added to the OpenAPI document by
 * refineDocument (openapi-document.ts) and need not be listed.
 */
export function errorResponses(...statuses: (number | Record<number, string>)[]) {
  const out: Record<number, typeof ErrorEnvelope> = {};
  for (const entry of statuses) {
    const described = typeof entry === "number" ? { [entry]: undefined } : entry;
    for (const [status, description] of Object.entries(described)) {
      const code = Number(status);
      out[code] = ErrorEnvelope.describe(description ?? STANDARD_ERROR_DESCRIPTIONS[code] ?? "Error");
    }
  }
  return out;
}

/**
 * Media types of the agent API, for the OpenAPI document: the Go operator sends and expects
 * `application/vnd.vworkspace.agent.v1+json`; plain JSON is accepted as well.
 */
export const AGENT_WIRE = {
  consumes: [AGENT_MEDIA_TYPE, "application/json"],
  produces: [AGENT_MEDIA_TYPE],
};
