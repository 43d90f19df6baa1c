import { toCatalogEntryDto } from "@vwksp/core";
import { CatalogEntry, CatalogEntryBody, CatalogIdParams, CreateCatalogEntryBody } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

export const catalogRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const read = requireScope(deps, "clusters:read");
  const write = requireScope(deps, "catalog:write");
  const tags = ["catalog"];
  const security = [{ apiKey: [] }];

  app.get(
    "/api/v1/catalog",
    {
      schema: {
        operationId: "listCatalog",
        tags,
        security,
        summary: "Deployable applications",
        response: { 200: z.object({ items: z.array(CatalogEntry) }), ...errorResponses(401, 403) },
      },
      onRequest: read,
    },
    async () => ({ items: (await deps.catalog.list()).map(toCatalogEntryDto) }),
  );

  app.get(
    "/api/v1/catalog/:id",
    {
      schema: {
        operationId: "getCatalogEntry",
        tags,
        security,
        params: CatalogIdParams,
        response: { 200: CatalogEntry, ...errorResponses(400, 401, 403, 404) },
      },
      onRequest: read,
    },
    async (request) => toCatalogEntryDto(await deps.catalog.get(request.params.id)),
  );

  app.post(
    "/api/v1/catalog",
    {
      schema: {
        operationId: "createCatalogEntry",
        tags,
        security,
        body: CreateCatalogEntryBody,
        response: { 201: CatalogEntry, ...errorResponses(400, 401, 403, 409) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const entry = await deps.catalog.create(actorOf(principalOf(request)), request.body);
      return reply.code(201).send(toCatalogEntryDto(entry));
    },
  );

  app.put(
    "/api/v1/catalog/:id",
    {
      schema: {
        operationId: "putCatalogEntry",
        tags,
        security,
        summary: "Create or replace a catalog entry",
        params: CatalogIdParams,
        body: CatalogEntryBody,
        response: { 200: CatalogEntry, ...errorResponses(400, 401, 403) },
      },
      onRequest: write,
    },
    async (request) =>
      toCatalogEntryDto(
        await deps.catalog.put(actorOf(principalOf(request)), request.params.id, request.body),
      ),
  );
};
