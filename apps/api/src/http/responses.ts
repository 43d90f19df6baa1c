import { AGENT_MEDIA_TYPE, ErrorEnvelope } from "@vwksp/protocol";
import { z } from "zod";

/** A 204 answer: no body. */
export const NoContent = z.null().describe("No content");

const DESCRIPTIONS: Record<number, string> = {
  400: "Bad request",
  401: "Missing or invalid credentials",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Payload too large",
  415: "Unsupported media type",
  429: "Rate limited (Retry-After)",
  503: "Unavailable (Retry-After)",
};

/** Declares the error envelope for each listed status, for the OpenAPI document. */
export function errorResponses(...statuses: number[]) {
  const out: Record<number, typeof ErrorEnvelope> = {};
  for (const status of statuses) {
    out[status] = ErrorEnvelope.describe(DESCRIPTIONS[status] ?? "Error");
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
