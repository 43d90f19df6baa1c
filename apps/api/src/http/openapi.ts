import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance, RouteOptions } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { refineDocument } from "./openapi-document.ts";

/**
 * The scope a route's requireScope hook checks, if any: the operation carries it as
 * `x-required-scope` and says it in its description. (Not as the security requirement's role
 * list: OpenAPI 3.1 allows that for a bearer scheme, but linters expect OAuth2 scopes there.)
 */
function scopeOf(route: RouteOptions): string | undefined {
  const hooks = [route.onRequest ?? []].flat() as { scope?: unknown }[];
  const scope = hooks.find((hook) => typeof hook.scope === "string")?.scope;
  return typeof scope === "string" ? scope : undefined;
}

/** OpenAPI 3.1 generated from the routes' zod schemas; Swagger UI at /docs. */
export async function registerOpenApi(app: FastifyInstance) {
  app.addHook("onRoute", (route) => {
    const scope = scopeOf(route);
    if (scope && route.schema)
      route.schema = { ...route.schema, "x-required-scope": scope } as typeof route.schema;
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "vWorkspace control plane",
        description:
          "Agent API (/api/agent, pull mode, media type application/vnd.vworkspace.agent.v1+json) " +
          "and admin API (/api/v1, API keys vwksp-key-…). Every non-2xx answer is " +
          "{error, message, requestId}.",
        version: "1.0.0",
      },
      servers: [
        {
          url: "{baseUrl}",
          description: "Where this control plane is served",
          variables: { baseUrl: { default: "http://localhost:8080", description: "scheme, host and port" } },
        },
      ],
      components: {
        securitySchemes: {
          apiKey: { type: "http", scheme: "bearer", description: "Admin API key vwksp-key-…" },
          agentToken: {
            type: "http",
            scheme: "bearer",
            description: "Agent credential vwksp-agt-… (registration token vwksp-reg-… on register)",
          },
          webhookSecret: {
            type: "apiKey",
            in: "query",
            name: "secret",
            description: "The Odoo webhook's shared secret (ODOO_WEBHOOK_SECRET) in the URL Odoo calls",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    // One component per type, every answer an operation can give, examples: openapi-document.ts.
    transformObject: (input) => refineDocument(jsonSchemaTransformObject(input)),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
