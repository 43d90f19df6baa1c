import { DomainError, forbidden } from "@vwksp/core";
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
import { bearerToken } from "../auth/bearer.ts";
import type { ApiDeps } from "../deps.ts";
import { AGENT_WIRE, errorResponses, NoContent } from "../http/responses.ts";
import type { LongPollHub } from "./long-poll.ts";

export const agentJobRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps; longPoll: LongPollHub }> = async (
  app,
  { deps, longPoll },
) => {
  const authenticate = authenticateAgent(deps);
  const tags = ["agent"];
  const security = [{ agentToken: [] }];

  // Polls in progress, by cluster. A revocation, a rotation or a disabled cluster invalidates the
  // cluster's credentials on every process; each of its polls then checks its credential again,
  // and one that no longer works ends at once with that answer (401 or 403). Invalidations of one
  // tick are handled once. Dropping the whole cache (after a gap in the messages) re-checks no
  // poll here: each checks its credential again before jobs go out on it (see the handler).
  const polls = new Map<string, Set<PollInProgress>>();
  const recheck = new Set<string>();
  const stopListening = deps.credentials.onInvalidate((clusterId) => {
    if (clusterId === null || !polls.has(clusterId)) return;
    if (recheck.size === 0) setImmediate(recheckPolls);
    recheck.add(clusterId);
  });
  function recheckPolls() {
    const clusters = [...recheck];
    recheck.clear();
    for (const clusterId of clusters) {
      for (const poll of polls.get(clusterId) ?? []) {
        refusalOf(poll.token).then((refusal) => refusal && poll.refuse(refusal));
      }
    }
  }
  /** The refusal a credential now gets (401 or 403), if any; a database hiccup is no verdict. */
  async function refusalOf(token: string): Promise<Error | undefined> {
    try {
      await deps.credentials.authenticate(token);
      return undefined;
    } catch (error) {
      const verdict = error instanceof DomainError && (error.statusCode === 401 || error.statusCode === 403);
      return verdict ? error : undefined;
    }
  }
  app.addHook("onClose", async () => {
    stopListening();
  });

  /** Registers a poll; `stop` ends its wait, whether the client went away or the credential did. */
  function trackPoll(clusterId: string, token: string, stop: AbortController) {
    const poll: PollInProgress = {
      token,
      refusal: undefined,
      refuse(error) {
        poll.refusal ??= error;
        stop.abort();
      },
    };
    const set = polls.get(clusterId) ?? new Set();
    set.add(poll);
    polls.set(clusterId, set);
    const untrack = () => {
      set.delete(poll);
      if (set.size === 0 && polls.get(clusterId) === set) polls.delete(clusterId);
    };
    return { poll, untrack };
  }

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
        response: { 200: JobsResponse, ...errorResponses(400, 401, 403, 429, 503) },
      },
      onRequest: authenticate,
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
      // One controller for both reasons to stop, rather than a combined signal per poll.
      const stop = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) stop.abort();
      });
      const token = bearerToken(request) ?? "";
      const { poll, untrack } = trackPoll(agent.clusterId, token, stop);
      try {
        // An invalidation between authentication and tracking would be missed: check once more
        // now that the poll is tracked (a cache hit unless the cache was just dropped).
        const refusedEarly = await refusalOf(token);
        if (refusedEarly) throw refusedEarly;
        const jobs = await deps.delivery.claim(agent.clusterId);
        if (stop.signal.aborted && jobs.length > 0) {
          await deps.delivery.release(
            agent.clusterId,
            jobs.map((job) => job.id),
          );
        }
        if (poll.refusal) throw poll.refusal;
        if (stop.signal.aborted) return { jobs: [] };
        // A credential that expires during the wait ends it then; the next poll hears 401.
        const secondsLeft =
          agent.expiresAt === null ? MAX_HOLD_SECONDS : (agent.expiresAt - deps.clock.now().getTime()) / 1000;
        const wait = Math.min(request.query.wait ?? DEFAULT_WAIT_SECONDS, MAX_HOLD_SECONDS, secondsLeft);
        if (jobs.length > 0 || wait <= 0) return { jobs };
        const waited = await longPoll.wait(agent.clusterId, wait, stop.signal);
        // Jobs go out only on a credential that still works, whatever the invalidations missed.
        const refusal = poll.refusal ?? (waited.length > 0 ? await refusalOf(token) : undefined);
        if (refusal) {
          if (waited.length > 0) {
            await deps.delivery.release(
              agent.clusterId,
              waited.map((job) => job.id),
            );
          }
          throw refusal;
        }
        return { jobs: waited };
      } finally {
        untrack();
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
        response: { 204: NoContent, ...errorResponses(401, 403, 404, 409, 429) },
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
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409, 429) },
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
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await deps.delivery.result(agentOf(request).clusterId, request.params.jobId, request.body);
      return reply.code(204).send(null);
    },
  );
};

interface PollInProgress {
  token: string;
  /** Why the poll's credential stopped working while it waited (401 or 403). */
  refusal: Error | undefined;
  refuse(error: Error): void;
}
