import { toApiKeyView, toCreatedApiKey, toRotatedApiKey } from "@vwksp/core";
import {
  ApiKeyIdParams,
  ApiKeyList,
  CreateApiKeyBody,
  CreatedApiKey,
  RotateApiKeyBody,
  RotatedApiKey,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

const Principal = z
  .object({ keyId: z.string(), organizationId: z.string(), scopes: z.array(z.string()) })
  .meta({ id: "Principal" });

export const apiKeyRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ["api-keys"];
  const security = [{ apiKey: [] }];
  const read = requireScope(deps, "keys:read");
  const write = requireScope(deps, "keys:write");
  const manager = (request: Parameters<typeof principalOf>[0]) => {
    const principal = principalOf(request);
    return { id: principal.keyId, scopes: principal.scopes };
  };

  app.get(
    "/api/v1/me",
    {
      schema: {
        operationId: "getCurrentKey",
        tags: ["admin"],
        summary: "The API key this request is authenticated with",
        security,
        response: { 200: Principal },
      },
      onRequest: requireScope(deps, "clusters:read"),
    },
    async (request) => principalOf(request),
  );

  app.get(
    "/api/v1/api-keys",
    {
      schema: {
        operationId: "listApiKeys",
        tags,
        security,
        summary: "The organization's API keys, newest first (never their secrets)",
        response: { 200: ApiKeyList },
      },
      onRequest: read,
    },
    async (request) => ({
      items: (await deps.apiKeyLifecycle.list(principalOf(request).organizationId)).map((row) =>
        toApiKeyView(row, deps.clock.now()),
      ),
    }),
  );

  app.post(
    "/api/v1/api-keys",
    {
      schema: {
        operationId: "createApiKey",
        tags,
        security,
        summary: "Create an API key; the answer is the only time its secret is shown",
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const created = await deps.apiKeyLifecycle.create(manager(request), {
        organizationId: principalOf(request).organizationId,
        name: request.body.name,
        scopes: request.body.scopes,
        expiresAt: request.body.expiresAt ? new Date(request.body.expiresAt) : undefined,
      });
      return reply.code(201).send(toCreatedApiKey(created, deps.clock.now()));
    },
  );

  app.delete(
    "/api/v1/api-keys/:id",
    {
      schema: {
        operationId: "revokeApiKey",
        tags,
        security,
        summary: "Revoke an API key: it fails at once, on every API process (idempotent)",
        params: ApiKeyIdParams,
        response: { 204: NoContent, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.apiKeyLifecycle.revoke(
        manager(request),
        principalOf(request).organizationId,
        request.params.id,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/api/v1/api-keys/:id/rotate",
    {
      schema: {
        operationId: "rotateApiKey",
        tags,
        security,
        summary:
          "Replace an API key by a new one with the same name and scopes, shown once; the old one keeps working for overlapSeconds (default 300)",
        params: ApiKeyIdParams,
        body: RotateApiKeyBody.nullish(),
        response: {
          201: RotatedApiKey,
          ...errorResponses(404, {
            409: "api_key_rotated: the key was rotated or revoked already; rotate its successor instead",
          }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const rotated = await deps.apiKeyLifecycle.rotate(
        manager(request),
        principalOf(request).organizationId,
        request.params.id,
        {
          overlapSeconds: body.overlapSeconds,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined,
        },
      );
      return reply.code(201).send(toRotatedApiKey(rotated, deps.clock.now()));
    },
  );
};
