import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import { forbidden } from "@vwksp/core";
import { QUEUE_NAMES } from "@vwksp/queue";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { sendEnvelope, toEnvelope } from "../http/errors.ts";

export const QUEUE_BOARD_PATH = "/queues";
/** Makes a browser ask for the key (any user name, the API key as password). */
const BASIC_CHALLENGE = 'Basic realm="vwksp queues", charset="UTF-8"';

/**
 * Bull Board over every queue of the job catalog, read-only: it shows depth, ages, payloads and
 * failures; retrying or removing jobs stays with the service (the reconciler re-enqueues what
 * PostgreSQL still holds as queued). Every request, the dashboard's assets and API calls too,
 * needs an admin key with the `queues:read` scope.
 */
export async function registerQueueBoard(app: FastifyInstance, deps: ApiDeps) {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map((name) => new BullMQAdapter(deps.queues.queue(name), { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: "vWorkspace queues" } },
  });

  const authorize = requireScope(deps, "queues:read");
  await app.register(async (board) => {
    // Answered here rather than thrown: the board's plugin has an error handler of its own.
    board.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        await authorize(request);
        // Read-only whatever the board's own checks cover (some of its routes act on every queue).
        if (request.method !== "GET") throw forbidden("read_only", "the queue dashboard is read-only");
      } catch (error) {
        const envelope = toEnvelope(error as Error);
        if (envelope.status === 401) reply.header("www-authenticate", BASIC_CHALLENGE);
        return sendEnvelope(request, reply, envelope);
      }
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
}
