import { toCatalogEntryDto } from "@vwksp/core";
import { CatalogEntry, CatalogEntryBody, CatalogIdParams, CreateCatalogEntryBody } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

/**
 * The shared base catalog every organization sees unless it overrides an entry. Changing it
 * changes what every organization deploys, so only the platform's keys may (`platform:admin`).
 */
export const sharedCatalogRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const platform = requireScope(deps, "platform:admin");
  const tags = ["catalog"];
  const security = [{ apiKey: [] }];

  app.get(
    "/api/v1/shared-catalog",
    {
      schema: {
        operationId: "listSharedCatalog",
        tags,
        security,
        summary: "The shared base catalog",
        response: { 200: z.object({ items: z.array(CatalogEntry) }) },
      },
      onRequest: platform,
    },
    async () => ({ items: (await deps.catalog.listShared()).map(toCatalogEntryDto) }),
  );

  app.post(
    "/api/v1/shared-catalog",
    {
      schema: {
        operationId: "createSharedCatalogEntry",
        tags,
        security,
        summary: "Add an entry to the shared base catalog",
        body: CreateCatalogEntryBody,
        response: {
          201: CatalogEntry,
          ...errorResponses({ 409: "catalog_entry_exists: an entry with this id exists" }),
        },
      },
      onRequest: platform,
    },
    async (request, reply) => {
      const entry = await deps.catalog.create(actorOf(principalOf(request)), "shared", request.body);
      await deps.notifier.catalogChanged();
      return reply.code(201).send(toCatalogEntryDto(entry));
    },
  );

  app.put(
    "/api/v1/shared-catalog/:id",
    {
      schema: {
        operationId: "putSharedCatalogEntry",
        tags,
        security,
        summary: "Create or replace an entry of the shared base catalog",
        params: CatalogIdParams,
        body: CatalogEntryBody,
        response: { 200: CatalogEntry },
      },
      onRequest: platform,
    },
    async (request) => {
      const entry = await deps.catalog.put(
        actorOf(principalOf(request)),
        "shared",
        request.params.id,
        request.body,
      );
      // Odoo's copy of the catalog (ODOO_CATALOG_MODEL) follows; the reconciliation is its backstop.
      await deps.notifier.catalogChanged();
      return toCatalogEntryDto(entry);
    },
  );
};
