import { forbidden } from "@vwksp/core";
import {
  DEFAULT_WAIT_SECONDS,
  JobIdParams,
  JobResultBody,
  JobStatusBody,
  JobsQuery,
  JobsResponse,
  MAX_HOLD_SECONDS,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { agentOf, authenticateAgent } from "../auth/agent-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";
import type { LongPollHub } from "./long-poll.ts";

export const agentJobRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps; longPoll: LongPollHub }> = async (
  app,
  { deps, longPoll },
) => {
  const authenticate = authenticateAgent(deps);
  const tags = ["agent"];
  const security = [{ agentToken: [] }];

  app.get(
    "/api/agent/jobs",
    {
      schema: {
        operationId: "agentPollJobs",
        tags,
        security,
        summary:
          "Long-poll for jobs: answers as soon as jobs are leased to this poll, or with [] after `wait` seconds",
        querystring: JobsQuery,
        response: { 200: JobsResponse, ...errorResponses(400, 401, 403, 429, 503) },
      },
      preValidation: authenticate,
    },
    async (request, reply) => {
      const agent = agentOf(request);
      if (request.query.cluster !== agent.clusterId) {
        throw forbidden(
          "cluster_mismatch",
          "the cluster query parameter does not match this credential's cluster",
        );
      }
      // The client going away ends the wait: no waiter is left behind and nothing is leased to it.
      const gone = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      const jobs = await deps.delivery.claim(agent.clusterId);
      if (gone.signal.aborted && jobs.length > 0) {
        await deps.delivery.release(
          agent.clusterId,
          jobs.map((job) => job.id),
        );
        return { jobs: [] };
      }
      const wait = request.query.wait ?? DEFAULT_WAIT_SECONDS;
      if (jobs.length > 0 || wait === 0) return { jobs };
      return { jobs: await longPoll.wait(agent.clusterId, Math.min(wait, MAX_HOLD_SECONDS), gone.signal) };
    },
  );

  app.post(
    "/api/agent/jobs/:jobId/ack",
    {
      schema: {
        operationId: "agentAckJob",
        tags,
        security,
        summary: "Acknowledge a delivered job before applying it (no body)",
        params: JobIdParams,
        response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 429) },
      },
      preValidation: authenticate,
    },
    async (request, reply) => {
      await deps.delivery.ack(agentOf(request).clusterId, request.params.jobId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/api/agent/jobs/:jobId/status",
    {
      schema: {
        operationId: "agentJobStatus",
        tags,
        security,
        summary: "Interim status between ack and result; renews the ack timeout",
        params: JobIdParams,
        body: JobStatusBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
      preValidation: authenticate,
    },
    async (request, reply) => {
      await deps.delivery.status(agentOf(request).clusterId, request.params.jobId, request.body);
      return reply.code(204).send(null);
    },
  );

  app.post(
    "/api/agent/jobs/:jobId/result",
    {
      schema: {
        operationId: "agentJobResult",
        tags,
        security,
        summary: "The job's one result; a repeat is a 409",
        params: JobIdParams,
        body: JobResultBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
      preValidation: authenticate,
    },
    async (request, reply) => {
      await deps.delivery.result(agentOf(request).clusterId, request.params.jobId, request.body);
      return reply.code(204).send(null);
    },
  );
};
