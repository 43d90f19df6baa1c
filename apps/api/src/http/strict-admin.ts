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
    requireDeliberateSchema(route.method, route.url, "querystring", route.schema?.querystring);
    requireDeliberateSchema(route.method, route.url, "body", route.schema?.body);
    const checks: preValidationHookHandler[] = [];
    if (!route.schema?.querystring) checks.push(noQueryParameters);
    if (!route.schema?.body && route.method !== "GET") checks.push(noBody);
    if (checks.length === 0) return;
    const own = route.preValidation === undefined ? [] : [route.preValidation].flat();
    route.preValidation = [...own, ...checks];
  });
}

/**
 * A declared admin body or query must say what it does with unknown fields: `z.strictObject`
 * (refuse them) or, deliberately, `z.looseObject` (Odoo's webhook). A plain `z.object` would
 * drop them silently, so a route declaring one does not start.
 */
function requireDeliberateSchema(method: unknown, url: string, part: string, schema: unknown) {
  const def = (schema as { _zod?: { def?: { type?: string; catchall?: unknown } } } | undefined)?._zod?.def;
  if (def?.type === "object" && def.catchall === undefined) {
    throw new Error(
      `${String(method)} ${url}: its ${part} schema is a plain z.object; use z.strictObject (or z.looseObject on purpose)`,
    );
  }
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
