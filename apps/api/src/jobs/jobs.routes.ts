import { toJobAccepted, toJobView } from "@vwksp/core";
import {
  ApplicationParams,
  ClusterIdParams,
  CreateJobBody,
  DeployApplicationBody,
  JobAccepted,
  JobIdOnlyParams,
  JobPage,
  JobView,
  ListJobsQuery,
  RequestOperationBody,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { actorOf, principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

export const jobRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const write = requireScope(deps, "jobs:write");
  const read = requireScope(deps, "jobs:read");
  const tags = ["jobs"];
  const security = [{ apiKey: [] }];
  const refusals = errorResponses(404, {
    409: "cluster_disabled: the cluster is disabled; cluster_not_registered: no agent has registered for it yet",
  });

  app.post(
    "/api/v1/clusters/:id/applications",
    {
      schema: {
        operationId: "deployApplication",
        tags,
        security,
        summary: "Deploy (or change) an application: queues an ensure-application-instance job",
        params: ClusterIdParams,
        body: DeployApplicationBody,
        response: { 202: JobAccepted, ...refusals },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const job = await deps.jobs.requestDeploy(
        actorOf(principalOf(request)),
        request.params.id,
        request.body,
      );
      return reply.code(202).send(toJobAccepted(job));
    },
  );

  app.delete(
    "/api/v1/clusters/:id/applications/:namespace/:name",
    {
      schema: {
        operationId: "deleteApplication",
        tags,
        security,
        summary: "Remove an application: queues a delete-application-instance job",
        params: ApplicationParams,
        response: { 202: JobAccepted, ...refusals },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const { id, namespace, name } = request.params;
      const job = await deps.jobs.requestDelete(actorOf(principalOf(request)), id, namespace, name);
      return reply.code(202).send(toJobAccepted(job));
    },
  );

  app.post(
    "/api/v1/clusters/:id/operations",
    {
      schema: {
        operationId: "requestOperation",
        tags,
        security,
        summary:
          "Run an operation (backup, restore, upgrade, …) on an application: queues a request-operation job",
        params: ClusterIdParams,
        body: RequestOperationBody,
        response: { 202: JobAccepted, ...refusals },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const job = await deps.jobs.requestOperation(
        actorOf(principalOf(request)),
        request.params.id,
        request.body,
      );
      return reply.code(202).send(toJobAccepted(job));
    },
  );

  app.post(
    "/api/v1/clusters/:id/jobs",
    {
      schema: {
        operationId: "createJob",
        tags,
        security,
        summary: "Queue a raw apply/delete/intent job",
        description:
          "The cluster's allow-lists apply as on the application and operation routes; cluster-scoped objects " +
          "other than an allowed Namespace are refused. With an `idempotencyKey`, repeating the request answers " +
          "the job it made (202, in whatever state it is now), and the same key with another payload is a 409 " +
          "`idempotency_key_reused`.",
        params: ClusterIdParams,
        body: CreateJobBody,
        response: {
          202: JobAccepted,
          ...errorResponses(404, {
            409: "cluster_disabled, cluster_not_registered, or idempotency_key_reused: the key already names a job with another payload",
          }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const job = await deps.jobs.createRaw(actorOf(principalOf(request)), request.params.id, request.body);
      return reply.code(202).send(toJobAccepted(job));
    },
  );

  app.get(
    "/api/v1/clusters/:id/jobs",
    {
      schema: {
        operationId: "listClusterJobs",
        summary: "List the cluster's jobs, newest first",
        tags,
        security,
        params: ClusterIdParams,
        querystring: ListJobsQuery,
        response: { 200: JobPage, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => {
      const page = await deps.jobQueries.list(
        principalOf(request).organizationId,
        request.params.id,
        request.query,
      );
      return { items: page.items.map((job) => toJobView(job)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    "/api/v1/jobs/:id",
    {
      schema: {
        operationId: "getJob",
        tags,
        security,
        summary: "A job with its state, timestamps, outcome and interim statuses",
        params: JobIdOnlyParams,
        response: { 200: JobView, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => {
      const job = await deps.jobQueries.get(principalOf(request).organizationId, request.params.id);
      return toJobView(job, job.statuses);
    },
  );

  app.post(
    "/api/v1/jobs/:id/cancel",
    {
      schema: {
        operationId: "cancelJob",
        tags,
        security,
        summary: "Cancel an open job; it is not delivered again",
        params: JobIdOnlyParams,
        response: {
          200: JobView,
          ...errorResponses(404, { 409: "job_closed: the job has already finished" }),
        },
      },
      onRequest: write,
    },
    async (request) => {
      const job = await deps.jobs.cancel(actorOf(principalOf(request)), request.params.id);
      return toJobView(job, job.statuses);
    },
  );
};
