import { DomainError } from "@vwksp/core";
import { EventsBody, MAX_EVENTS_PER_REQUEST } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { agentOf, authenticateAgent } from "../auth/agent-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { AGENT_WIRE, errorResponses, NoContent } from "../http/responses.ts";

export const agentEventRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const authenticate = authenticateAgent(deps);
  app.post(
    "/api/agent/events",
    {
      schema: {
        ...AGENT_WIRE,
        operationId: "agentPostEvents",
        tags: ["agent"],
        security: [{ agentToken: [] }],
        summary:
          "Heartbeats and condition events, batched (≤ 1,000 events and 1 MiB per request); replays are no-ops",
        body: EventsBody,
        response: { 204: NoContent, ...errorResponses(400, 401, 403, 413, 429) },
      },
      preValidation: [
        authenticate,
        // The size of the batch is checked before the events themselves: too many is a 413.
        async (request) => {
          const events = (request.body as { events?: unknown } | undefined)?.events;
          if (Array.isArray(events) && events.length > MAX_EVENTS_PER_REQUEST) {
            throw new DomainError(
              413,
              "payload_too_large",
              `at most ${MAX_EVENTS_PER_REQUEST} events per request`,
            );
          }
        },
      ],
    },
    async (request, reply) => {
      await deps.events.ingest(agentOf(request), request.body.events);
      return reply.code(204).send(null);
    },
  );
};
