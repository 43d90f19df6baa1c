import { badRequest } from "@vwksp/core";
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from "fastify";

/**
 * The admin API refuses what it does not understand. Declared bodies and queries are strict zod
 * objects (@vwksp/protocol); this covers the routes that declare none, where Fastify would
 * ignore whatever comes: a query parameter or a non-empty body there is a 400 as well. The check
 * runs after the route's own preValidation (authentication), like schema validation does. The
 * agent API (/api/agent) is left alone: the contract says it tolerates unknown fields.
 */
export function refuseUndeclaredAdminInput(app: FastifyInstance) {
  app.addHook("onRoute", (route) => {
    if (!route.url.startsWith("/api/v1/")) return;
    const checks: preValidationHookHandler[] = [];
    if (!route.schema?.querystring) checks.push(noQueryParameters);
    if (!route.schema?.body && route.method !== "GET") checks.push(noBody);
    if (checks.length === 0) return;
    const own = route.preValidation === undefined ? [] : [route.preValidation].flat();
    route.preValidation = [...own, ...checks];
  });
}

async function noQueryParameters(request: FastifyRequest) {
  const names = Object.keys((request.query as Record<string, unknown> | undefined) ?? {});
  if (names.length > 0) {
    const list = names.map((name) => `"${name}"`).join(", ");
    throw badRequest(
      "invalid_request",
      `querystring: unknown field ${list} (this route takes no query parameters)`,
    );
  }
}

async function noBody(request: FastifyRequest) {
  const body = request.body;
  const empty =
    body === undefined ||
    body === null ||
    body === "" ||
    (typeof body === "object" && !Array.isArray(body) && Object.keys(body).length === 0);
  if (!empty) {
    const fields =
      typeof body === "object" && !Array.isArray(body)
        ? `unknown field ${Object.keys(body as object)
            .map((name) => `"${name}"`)
            .join(", ")}`
        : "unexpected content";
    throw badRequest("invalid_request", `body: ${fields} (this route takes no body)`);
  }
}
