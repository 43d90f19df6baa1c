import { forbidden } from "@vwksp/core";
import {
  DEFAULT_WAIT_SECONDS,
  JobIdParams,
  JobResultBody,
  JobStatusBody,
  JobsQuery,
  JobsResponse,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { agentOf, authenticateAgent } from "../auth/agent-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { AGENT_WIRE, errorResponses, NoContent } from "../http/responses.ts";
import type { LongPoll } from "./long-poll.ts";

/** The agent's job answers refused because of the job's state. */
const JOB_CONFLICT = {
  409: "job_closed: the job already has its result (or expired, or was cancelled); job_not_delivered: this agent never received it",
};

/** The agent's job channel; the long-poll itself is long-poll.ts, made by the app. */
export const agentJobRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps; longPoll: LongPoll }> = async (
  app,
  { deps, longPoll },
) => {
  const authenticate = authenticateAgent(deps);
  const authenticatePoll = authenticateAgent(deps, { poll: true });
  const tags = ["agent"];
  const security = [{ agentToken: [] }];

  app.get(
    "/api/agent/jobs",
    {
      schema: {
        ...AGENT_WIRE,
        operationId: "agentPollJobs",
        tags,
        security,
        summary:
          "Long-poll for jobs: answers as soon as jobs are leased to this poll, or with [] after `wait` seconds",
        querystring: JobsQuery,
        response: { 200: JobsResponse },
      },
      onRequest: [async (request) => longPoll.beforeAuthentication(request), authenticatePoll],
    },
    async (request, reply) => {
      const agent = agentOf(request);
      if (request.query.cluster !== agent.clusterId) {
        throw forbidden(
          "cluster_mismatch",
          "the cluster query parameter does not match this credential's cluster",
        );
      }
      // The job channel works: in memory, written with the next coalesced flush.
      deps.heartbeats.polled(agent.clusterId);
      const jobs = await longPoll.serve(agent, request, reply, request.query.wait ?? DEFAULT_WAIT_SECONDS);
      // Nobody to answer: nothing is serialized or written to a closed socket.
      if (jobs === undefined) return reply.hijack();
      return { jobs };
    },
  );

  app.post(
    "/api/agent/jobs/:jobId/ack",
    {
      schema: {
        ...AGENT_WIRE,
        operationId: "agentAckJob",
        tags,
        security,
        summary: "Acknowledge a delivered job before applying it (no body)",
        params: JobIdParams,
        response: { 204: NoContent, ...errorResponses(404, JOB_CONFLICT) },
      },
      onRequest: authenticate,
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
        ...AGENT_WIRE,
        operationId: "agentJobStatus",
        tags,
        security,
        summary: "Interim status between ack and result; renews the ack timeout",
        params: JobIdParams,
        body: JobStatusBody,
        response: { 204: NoContent, ...errorResponses(404, JOB_CONFLICT) },
      },
      onRequest: authenticate,
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
        ...AGENT_WIRE,
        operationId: "agentJobResult",
        tags,
        security,
        summary: "The job's one result; a repeat is a 409",
        params: JobIdParams,
        body: JobResultBody,
        response: { 204: NoContent, ...errorResponses(404, JOB_CONFLICT) },
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      const { jobId } = request.params;
      const { settlesApplication } = await deps.delivery.result(
        agentOf(request).clusterId,
        jobId,
        request.body,
      );
      // The result is recorded whatever happens next; the maintenance backstop settles the
      // application later should this fail.
      if (settlesApplication) {
        await deps.applications
          .jobsClosed([jobId])
          .catch((error: unknown) =>
            request.log.warn({ err: error, jobId }, "could not settle the application yet"),
          );
      }
      return reply.code(204).send(null);
    },
  );
};
