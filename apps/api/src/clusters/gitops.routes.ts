import { ClusterIdParams, GitOpsBinding, PutGitOpsBindingBody } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

/** GitOps mode's repository binding of a cluster (docs/gitops-mode.md); the credential is write-only. */
export const gitopsRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const read = requireScope(deps, "clusters:read");
  const write = requireScope(deps, "clusters:write");
  const tags = ["clusters"];
  const security = [{ apiKey: [] }];

  app.put(
    "/api/v1/clusters/:id/gitops",
    {
      schema: {
        operationId: "putClusterGitOpsBinding",
        tags,
        security,
        summary:
          "Bind a gitops cluster to the Git repository its Flux follows, after checking the remote, the branch and that the credential may push",
        params: ClusterIdParams,
        body: PutGitOpsBindingBody,
        response: {
          200: GitOpsBinding,
          ...errorResponses(404, {
            400: "invalid_request: the body is malformed; gitops_binding_invalid: the remote refused the binding (the reason comes first: Unreachable, AuthenticationFailed, BranchMissing, PushDenied, …)",
            409: "not_gitops: the cluster is not in gitops mode; secret_key_missing: SECRET_KEY is not set, so no credential can be stored",
          }),
        },
      },
      onRequest: write,
    },
    async (request) => deps.gitops.set(actorOf(principalOf(request)), request.params.id, request.body),
  );

  app.get(
    "/api/v1/clusters/:id/gitops",
    {
      schema: {
        operationId: "getClusterGitOpsBinding",
        tags,
        security,
        summary: "Get a cluster's Git repository binding and its health (never the credential)",
        params: ClusterIdParams,
        response: { 200: GitOpsBinding, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => deps.gitops.get(principalOf(request).organizationId, request.params.id),
  );

  app.delete(
    "/api/v1/clusters/:id/gitops",
    {
      schema: {
        operationId: "deleteClusterGitOpsBinding",
        tags,
        security,
        summary:
          "Remove a cluster's Git repository binding and its credential; the repository keeps what was written",
        params: ClusterIdParams,
        response: { 204: NoContent, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.gitops.remove(actorOf(principalOf(request)), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
