import { toOrganizationDto } from "@vwksp/core";
import { CreateOrganizationBody, Organization } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

/** Organizations (tenants); only the platform's keys (`platform:admin`) see or make them. */
export const organizationRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const platform = requireScope(deps, "platform:admin");
  const tags = ["organizations"];
  const security = [{ apiKey: [] }];

  app.get(
    "/api/v1/organizations",
    {
      schema: {
        operationId: "listOrganizations",
        tags,
        security,
        summary: "Every organization",
        response: { 200: z.object({ items: z.array(Organization) }) },
      },
      onRequest: platform,
    },
    async () => ({ items: (await deps.organizations.list()).map(toOrganizationDto) }),
  );

  app.post(
    "/api/v1/organizations",
    {
      schema: {
        operationId: "createOrganization",
        tags,
        security,
        summary: "Create an organization (then give it keys: pnpm admin:key create --organization SLUG)",
        body: CreateOrganizationBody,
        response: {
          201: Organization,
          ...errorResponses({ 409: "organization_exists: an organization with this slug exists" }),
        },
      },
      onRequest: platform,
    },
    async (request, reply) => {
      const organization = await deps.organizations.create(actorOf(principalOf(request)), request.body);
      return reply.code(201).send(toOrganizationDto(organization));
    },
  );
};
