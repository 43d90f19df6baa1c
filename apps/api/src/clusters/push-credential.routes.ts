import { badRequest } from "@vwksp/core";
import { ClusterIdParams, KubeconfigBody, PushCredentialView } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

/** The media types a kubeconfig is uploaded as: kubectl's YAML, or its JSON form. */
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml"];

/** Bodies larger than this are not kubeconfigs (the intake's own bound is 256 KiB). */
const MAX_KUBECONFIG_BYTES = 262_144;

/**
 * A push cluster's kubeconfig (issue 14, docs/push-mode.md): PUT stores it sealed and validates
 * it against the cluster's API; DELETE removes it. Never answered back. YAML bodies are read as
 * text in this plugin only: every other route keeps refusing them with 415.
 */
export const pushCredentialRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const write = requireScope(deps, "clusters:write");
  const tags = ["clusters"];
  const security = [{ apiKey: [] }];

  app.addContentTypeParser(
    YAML_TYPES,
    { parseAs: "string", bodyLimit: MAX_KUBECONFIG_BYTES },
    (_r, raw, done) => {
      const text = typeof raw === "string" ? raw : raw.toString("utf8");
      if (text.includes("\u0000"))
        return done(badRequest("invalid_request", "the body contains a NUL character"));
      done(null, text);
    },
  );

  app.put(
    "/api/v1/clusters/:id/kubeconfig",
    {
      schema: {
        operationId: "putClusterKubeconfig",
        tags,
        security,
        summary: "Store a push cluster's kubeconfig (sealed) and validate it against the cluster's API",
        description:
          "The kubeconfig (YAML as application/yaml, or its JSON object) must have one usable context with inline credentials: several contexts without current-context, exec or auth-provider plugins, a plain-HTTP server and file paths are refused with 400 (error kubeconfig_refused, the message starts with the reason). It is sealed under SECRET_KEY and never returned. The answer shows what validation found: Connected with the Kubernetes version, or Unreachable, TLSError, Unauthorized, Forbidden (naming verb and resource) or CRDMissing.",
        consumes: ["application/yaml", "application/json"],
        params: ClusterIdParams,
        body: KubeconfigBody,
        response: {
          200: PushCredentialView,
          ...errorResponses(404, {
            400: "kubeconfig_refused: the kubeconfig cannot work or is unsafe; the message starts with the reason (AmbiguousContext, ExecPluginRefused, AuthProviderRefused, PlainHttpRefused, FilePathRefused, …)",
            409: "not_push_cluster: the cluster is not in push mode; secret_key_missing: SECRET_KEY is not set, so nothing can be sealed",
          }),
        },
      },
      onRequest: write,
    },
    async (request) =>
      deps.pushCredentials.set(actorOf(principalOf(request)), request.params.id, request.body),
  );

  app.delete(
    "/api/v1/clusters/:id/kubeconfig",
    {
      schema: {
        operationId: "deleteClusterKubeconfig",
        tags,
        security,
        summary: "Remove a push cluster's kubeconfig: the cluster is disconnected until another is stored",
        params: ClusterIdParams,
        response: {
          204: NoContent,
          ...errorResponses({ 404: "the cluster does not exist, or has no kubeconfig" }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.pushCredentials.remove(actorOf(principalOf(request)), request.params.id);
      return reply.code(204).send(null);
    },
  );
};
