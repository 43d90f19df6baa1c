import { toIssuedToken, toRegistrationTokenInfo } from "@vwksp/core";
import {
  ClusterIdParams,
  IssuedToken,
  IssueTokenBody,
  RegistrationTokenInfo,
  TokenParams,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

export const registrationTokenRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const write = requireScope(deps, "clusters:write");
  const read = requireScope(deps, "clusters:read");
  const tags = ["clusters"];
  const security = [{ apiKey: [] }];

  app.post(
    "/api/v1/clusters/:id/registration-tokens",
    {
      schema: {
        operationId: "issueRegistrationToken",
        tags,
        security,
        summary: "Issue a one-time registration token (shown once) for the cluster's agent",
        params: ClusterIdParams,
        body: IssueTokenBody.nullish(),
        response: {
          201: IssuedToken,
          ...errorResponses(404, { 409: "cluster_disabled: the cluster is disabled" }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const ttlSeconds = request.body?.ttlSeconds ?? 86_400;
      const issued = await deps.registrationTokens.issue(
        actorOf(principalOf(request)),
        request.params.id,
        ttlSeconds,
      );
      return reply.code(201).header("cache-control", "no-store").send(toIssuedToken(issued));
    },
  );

  app.get(
    "/api/v1/clusters/:id/registration-tokens",
    {
      schema: {
        operationId: "listRegistrationTokens",
        tags,
        security,
        summary: "The cluster's registration tokens (never their secrets)",
        params: ClusterIdParams,
        response: {
          200: z.object({ items: z.array(RegistrationTokenInfo) }),
          ...errorResponses(404),
        },
      },
      onRequest: read,
    },
    async (request) => {
      const tokens = await deps.registrationTokens.list(
        principalOf(request).organizationId,
        request.params.id,
      );
      return { items: tokens.map(toRegistrationTokenInfo) };
    },
  );

  app.delete(
    "/api/v1/clusters/:id/registration-tokens/:tokenId",
    {
      schema: {
        operationId: "revokeRegistrationToken",
        tags,
        security,
        summary: "Revoke an unused registration token",
        params: TokenParams,
        response: {
          204: NoContent,
          ...errorResponses(404, {
            409: "token_consumed: the token was already exchanged; revoke the cluster's credentials instead",
          }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.registrationTokens.revoke(
        actorOf(principalOf(request)),
        request.params.id,
        request.params.tokenId,
      );
      return reply.code(204).send(null);
    },
  );
};
