import { AuthenticationRefused, RegistrationRefused } from "@vwksp/core";
import { HEARTBEAT_KIND, JobOutcome } from "@vwksp/protocol";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { toEnvelope } from "../http/errors.ts";
import type { ApiMetrics } from "./api-metrics.ts";

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const EVENTS_ROUTE = "/api/agent/events";
const RESULT_ROUTE = "/api/agent/jobs/:jobId/result";
const REGISTER_ROUTE = "/api/agent/register";
const AGENT_OUTCOMES = new Set<string>(JobOutcome.options);
/** Refusals of who is asking (not of what they ask): counted as authentication failures. */
const AUTH_STATUSES = new Set([401, 403, 429]);

/** The route pattern (`/api/agent/jobs/:jobId/ack`), never the raw URL; no route: "unmatched". */
function routeOf(request: FastifyRequest): string {
  return request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
}

function methodOf(request: FastifyRequest): string {
  // Unmatched requests may carry any method Node's parser knows: fold the rare ones into one.
  return STANDARD_METHODS.has(request.method) || !request.is404 ? request.method : "other";
}

/** Heartbeats and condition transitions by name; whatever else agents send as one bounded label. */
function eventKindLabel(kind: unknown): string {
  if (kind === HEARTBEAT_KIND) return "heartbeat";
  return kind === "ConditionTransition" ? "condition_transition" : "other";
}

/** Which credential a refused request presented, and why it was refused; undefined: not an auth failure. */
function authFailureOf(request: FastifyRequest, error: Error, status: number, code: string) {
  const route = routeOf(request);
  if (error instanceof RegistrationRefused) return { credential: "registration", reason: code };
  if (route === REGISTER_ROUTE)
    return status === 429 ? { credential: "registration", reason: "rate_limited" } : undefined;
  if (route.startsWith("/api/agent/")) {
    if (status === 429) return { credential: "agent", reason: "rate_limited" };
    if (error instanceof AuthenticationRefused)
      return { credential: "agent", reason: request.headers.authorization ? "refused" : "missing" };
    if (status === 403 || code === "credential_rotated") return { credential: "agent", reason: code };
    return undefined;
  }
  if (!route.startsWith("/api/v1/") || !AUTH_STATUSES.has(status)) return undefined;
  if (status === 429) return { credential: "admin", reason: "rate_limited" };
  if (status === 401) {
    const presented = request.headers.authorization || request.headers["x-api-key"];
    return { credential: "admin", reason: presented ? "invalid" : "missing" };
  }
  return code === "insufficient_scope" ? { credential: "admin", reason: code } : undefined;
}

/**
 * Hooks on the whole API (registered on the root instance, before the routes): request counts
 * and durations by route pattern, authentication failures, events ingested and refused, and the
 * outcomes agents report. They read what the request and its answer already carry, so the routes
 * themselves stay as they are. Requests refused before routing (a URL the router cannot parse,
 * answered by `frameworkErrors`) run no hooks and are not counted.
 */
export function registerRequestMetrics(app: FastifyInstance, metrics: ApiMetrics) {
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    const route = routeOf(request);
    const method = methodOf(request);
    metrics.httpRequests.inc({ method, route, status: reply.statusCode });
    metrics.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
    if (reply.statusCode !== 204 || method !== "POST") return;
    if (route === EVENTS_ROUTE) {
      const events = (request.body as { events?: { kind?: unknown }[] } | undefined)?.events ?? [];
      for (const event of events) metrics.eventsIngested.inc({ kind: eventKindLabel(event.kind) });
    } else if (route === RESULT_ROUTE) {
      const outcome = (request.body as { outcome?: unknown } | undefined)?.outcome;
      if (typeof outcome === "string" && AGENT_OUTCOMES.has(outcome)) metrics.jobsFinished.inc({ outcome });
    }
  });

  app.addHook("onError", async (request: FastifyRequest, _reply: FastifyReply, error: FastifyError) => {
    const { status, code } = toEnvelope(error);
    if (routeOf(request) === EVENTS_ROUTE) metrics.eventsRefused.inc({ reason: code });
    const failure = AUTH_STATUSES.has(status) || code === "credential_rotated";
    const auth = failure ? authFailureOf(request, error, status, code) : undefined;
    if (auth) metrics.authFailures.inc(auth);
  });
}
