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
import { AGENT_WIRE, errorResponses, NoContent } from "../http/responses.ts";
import type { LongPollHub } from "./long-poll.ts";
import { createPolls } from "./polls.ts";

/** The agent's job answers refused because of the job's state. */
const JOB_CONFLICT = {
  409: "job_closed: the job already has its result (or expired, or was cancelled); job_not_delivered: this agent never received it",
};

export const agentJobRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps; longPoll: LongPollHub }> = async (
  app,
  { deps, longPoll },
) => {
  const authenticate = authenticateAgent(deps);
  const authenticatePoll = authenticateAgent(deps, { poll: true });
  const tags = ["agent"];
  const security = [{ agentToken: [] }];

  const polls = createPolls(deps, longPoll);
  app.addHook("onClose", async () => {
    polls.close();
  });

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
      onRequest: authenticatePoll,
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
      const poll = polls.start(agent.clusterId, request, reply);
      try {
        // An invalidation between authentication and tracking would be missed: check once more
        // now that the poll is tracked (a cache hit unless the cache was just dropped).
        const refusedEarly = await polls.refusalOf(poll.token);
        if (refusedEarly) throw refusedEarly;
        const claimed = await deps.delivery.claim(agent.clusterId);
        // A credential that expires during the wait ends it then; the next poll hears 401.
        const secondsLeft =
          agent.expiresAt === null ? MAX_HOLD_SECONDS : (agent.expiresAt - deps.clock.now().getTime()) / 1000;
        const wait = Math.min(request.query.wait ?? DEFAULT_WAIT_SECONDS, MAX_HOLD_SECONDS, secondsLeft);
        const waited = claimed.length === 0 && wait > 0;
        const jobs = await poll.answer(waited ? await poll.wait(wait) : claimed, waited);
        // Nobody to answer: nothing is serialized or written to a closed socket.
        if (poll.gone) return reply.hijack();
        return { jobs };
      } finally {
        polls.end(poll);
      }
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
