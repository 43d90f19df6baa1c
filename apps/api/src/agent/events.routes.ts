import { DomainError } from "@vwksp/core";
import { EventsBody, MAX_EVENTS_PER_REQUEST } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { agentOf, authenticateAgent } from "../auth/agent-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { createAdmissionGate } from "../http/admission.ts";
import { AGENT_WIRE, errorResponses, NoContent } from "../http/responses.ts";

/** Heartbeats and a few conditions: cheap, and never held up behind a fleet's replayed buffers. */
const SMALL_BATCH_BYTES = 16 * 1024;

export const agentEventRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const authenticate = authenticateAgent(deps);
  // A fleet replaying its buffers after an outage sends hundreds of large batches at once: each
  // is a transaction, and letting them all in exhausts the connection pool and the memory of
  // the parsed bodies. A few run at a time, a few more wait, the rest are told to come back.
  const ingestGate = createAdmissionGate({
    concurrency: deps.config.EVENT_INGEST_CONCURRENCY,
    queue: deps.config.EVENT_INGEST_CONCURRENCY,
    maxWaitMs: 5_000,
    retryAfterSeconds: 2,
    what: "event ingestion",
  });
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
        response: {
          204: NoContent,
          ...errorResponses({
            413: "The body is larger than 1 MiB or holds more than 1,000 events",
            503: "Too many event batches are being stored at once, or PostgreSQL/Redis is unreachable; retry after the Retry-After header's seconds",
          }),
        },
      },
      // Before the body is read: a request without a valid credential never has it read, and a
      // large batch waits for its turn as a socket, not as a parsed body.
      onRequest: [
        authenticate,
        async (request, reply) => {
          const declared = Number(request.headers["content-length"] ?? Number.POSITIVE_INFINITY);
          if (declared > SMALL_BATCH_BYTES) await ingestGate.admit(request, reply);
        },
      ],
      preValidation: [
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
