import { toCatalogEntryDto } from "@vwksp/core";
import { CatalogEntry, CatalogEntryBody, CatalogIdParams, CreateCatalogEntryBody } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

/**
 * The catalog as the caller's organization sees it (its own entries, else the shared ones), and
 * its own entries: `catalog:write` adds or overrides entries for that organization only. The
 * shared base catalog is changed through /api/v1/shared-catalog.
 */
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
        summary: "Deployable applications: the organization's own entries, else the shared ones",
        response: { 200: z.object({ items: z.array(CatalogEntry) }) },
      },
      onRequest: read,
    },
    async (request) => ({
      items: (await deps.catalog.list(principalOf(request).organizationId)).map(toCatalogEntryDto),
    }),
  );

  app.get(
    "/api/v1/catalog/:id",
    {
      schema: {
        operationId: "getCatalogEntry",
        summary: "Get a catalog entry: the organization's own, else the shared one",
        tags,
        security,
        params: CatalogIdParams,
        response: { 200: CatalogEntry, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) =>
      toCatalogEntryDto(await deps.catalog.get(principalOf(request).organizationId, request.params.id)),
  );

  app.post(
    "/api/v1/catalog",
    {
      schema: {
        operationId: "createCatalogEntry",
        tags,
        security,
        summary: "Add an entry of the organization's own (409 when the id exists, shared ones included)",
        body: CreateCatalogEntryBody,
        response: {
          201: CatalogEntry,
          ...errorResponses({ 409: "catalog_entry_exists: an entry with this id exists" }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const entry = await deps.catalog.create(actorOf(principalOf(request)), "organization", request.body);
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
        summary:
          "Create or replace the organization's own entry; over a shared id it overrides it for this organization",
        params: CatalogIdParams,
        body: CatalogEntryBody,
        response: { 200: CatalogEntry },
      },
      onRequest: write,
    },
    async (request) =>
      toCatalogEntryDto(
        await deps.catalog.put(
          actorOf(principalOf(request)),
          "organization",
          request.params.id,
          request.body,
        ),
      ),
  );

  app.delete(
    "/api/v1/catalog/:id",
    {
      schema: {
        operationId: "deleteCatalogEntry",
        tags,
        security,
        summary: "Remove the organization's own entry (a shared entry it overrode applies again)",
        params: CatalogIdParams,
        response: { 204: NoContent, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.catalog.removeOwn(actorOf(principalOf(request)), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
