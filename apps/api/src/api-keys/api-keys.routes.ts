import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

const Principal = z
  .object({ keyId: z.string(), organizationId: z.string(), scopes: z.array(z.string()) })
  .meta({ id: "Principal" });

export const apiKeyRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get(
    "/api/v1/me",
    {
      schema: {
        operationId: "getCurrentKey",
        tags: ["admin"],
        summary: "The API key this request is authenticated with",
        security: [{ apiKey: [] }],
        response: { 200: Principal, ...errorResponses(401) },
      },
      onRequest: requireScope(deps, "clusters:read"),
    },
    async (request) => principalOf(request),
  );
};
