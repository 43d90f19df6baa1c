import { classifyDependencyError, type DependencyFailure, DomainError, redactString } from "@vwksp/core";
import { AGENT_MEDIA_TYPE } from "@vwksp/protocol";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from "fastify-type-provider-zod";
import { describeUnknownFields } from "./unknown-fields.ts";

interface Envelope {
  status: number;
  code: string;
  message: string;
  retryAfter?: number;
}

/** Fastify's own 4xx errors, by code, mapped to the protocol's machine codes. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: "unsupported_media_type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: "invalid_request" },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: "payload_too_large" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: "invalid_json" },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: "unsupported_media_type" },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: "unsupported_media_type" },
  FST_ERR_BAD_URL: { status: 400, code: "invalid_request" },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: "invalid_request" },
};

/** How each kind of dependency failure is answered (see classifyDependencyError in core). */
const DEPENDENCY_FAILURES: Record<DependencyFailure, Envelope> = {
  "bad-value": {
    status: 400,
    code: "invalid_request",
    message: "the request holds a value that cannot be stored (for example a NUL character)",
  },
  busy: { status: 503, code: "unavailable", message: "the service is busy, retry shortly", retryAfter: 2 },
  contention: {
    status: 503,
    code: "unavailable",
    message: "the database is busy with this record, retry shortly",
    retryAfter: 1,
  },
  outage: {
    status: 503,
    code: "unavailable",
    message: "a backing service is unavailable, retry later",
    retryAfter: 5,
  },
};

function describeValidation(error: FastifyError, request?: FastifyRequest): string {
  const context = error.validationContext ?? "body";
  // Unknown fields first: with strict admin schemas they are the likeliest mistake (a typo).
  const ordered = [...(error.validation ?? [])].sort(
    (a, b) => Number(b.keyword === "unrecognized_keys") - Number(a.keyword === "unrecognized_keys"),
  );
  const issues = ordered.slice(0, 5).map((issue) => {
    const segments = (issue.instancePath || "").split("/").filter(Boolean);
    const where = `${context}${segments.length > 0 ? `.${segments.join(".")}` : ""}`;
    const keys = (issue.params as { keys?: unknown } | undefined)?.keys;
    if (issue.keyword === "unrecognized_keys" && Array.isArray(keys)) {
      const schema = (request?.routeOptions.schema as Record<string, unknown> | undefined)?.[context];
      return `${where}: ${describeUnknownFields(keys.map(String), segments, schema)}`;
    }
    return `${where}: ${issue.message ?? "invalid"}`;
  });
  return issues.length > 0 ? issues.join("; ") : "request does not match the schema";
}

export function toEnvelope(error: FastifyError | DomainError | Error, request?: FastifyRequest): Envelope {
  if (error instanceof DomainError) {
    return {
      status: error.statusCode,
      code: error.code,
      message: error.message,
      ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
    };
  }
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(error)) {
    return { status: 400, code: "invalid_request", message: describeValidation(fastifyError, request) };
  }
  if (fastifyError.validation) {
    return { status: 400, code: "invalid_request", message: describeValidation(fastifyError, request) };
  }
  const known = fastifyError.code ? FRAMEWORK_ERRORS[fastifyError.code] : undefined;
  if (known) return { ...known, message: fastifyError.message };
  if (error instanceof SyntaxError) {
    return { status: 400, code: "invalid_json", message: "body is not valid JSON" };
  }
  const failure = classifyDependencyError(error);
  if (failure) return DEPENDENCY_FAILURES[failure];
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500 && !isResponseSerializationError(error)) {
    return { status, code: "invalid_request", message: fastifyError.message };
  }
  return { status: 500, code: "internal", message: "internal server error" };
}

export function sendEnvelope(request: FastifyRequest, reply: FastifyReply, envelope: Envelope) {
  if (envelope.retryAfter !== undefined) reply.header("retry-after", String(envelope.retryAfter));
  return reply.code(envelope.status).send({
    error: envelope.code,
    message: redactString(envelope.message),
    requestId: request.id,
  });
}

/**
 * URLs the router cannot even take apart (bad percent-encoding, a path segment over the length
 * limit) never reach a route, its hooks or the error handler; Fastify hands them here. Under
 * `/api/agent/jobs/` such a segment can only be a job id, and the contract answers an unknown
 * job id of any shape with 404; elsewhere it is a 400. The URL is not echoed: it may be huge.
 */
export function answerUnroutableUrl(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const path = request.raw.url ?? "";
  const agent = path.startsWith("/api/agent/");
  reply.header("x-request-id", request.id);
  if (agent) reply.header("content-type", AGENT_MEDIA_TYPE);
  request.log.warn({ code: error.code }, "request refused: unroutable URL");
  if (path.startsWith("/api/agent/jobs/")) {
    return sendEnvelope(request, reply, { status: 404, code: "not_found", message: "job not found" });
  }
  const reason =
    error.code === "FST_ERR_MAX_PARAM_LENGTH" ? "a path segment is too long" : "the URL is not valid";
  return sendEnvelope(request, reply, { status: 400, code: "invalid_request", message: reason });
}

/** Every 4xx/5xx leaves as `{error, message, requestId}`; 5xx internals stay in the log. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const envelope = toEnvelope(error, request);
    if (envelope.status >= 500) {
      request.log.error({ err: error }, "request failed");
    } else {
      request.log.warn({ code: envelope.code, reason: envelope.message }, "request refused");
    }
    return sendEnvelope(request, reply, envelope);
  });

  app.setNotFoundHandler((request, reply) =>
    sendEnvelope(request, reply, {
      status: 404,
      code: "not_found",
      message: `no route for ${request.method} ${request.url.split("?")[0]}`,
    }),
  );
}
