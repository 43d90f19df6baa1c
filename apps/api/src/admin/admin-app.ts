import { loggerOptions } from "@vwksp/core";
import Fastify, { type FastifyServerOptions } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { trustProxyOption } from "../http/client-address.ts";
import { registerErrorHandling } from "../http/errors.ts";
import { registerQueueBoard } from "./queue-board.ts";

/**
 * The API's internal listener on METRICS_PORT, apart from the agents' port so that no ingress
 * for agents can reach it: Prometheus `GET /metrics` (no authentication, as usual for a scrape
 * target inside the network) and the queue dashboard (admin key with `queues:read`).
 */
export async function buildAdminApp(
  deps: ApiDeps,
  options: { logger?: FastifyServerOptions["loggerInstance"] } = {},
) {
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: loggerOptions(deps.config.LOG_LEVEL, "api-admin") }),
    trustProxy: trustProxyOption(deps.config.TRUST_PROXY),
    exposeHeadRoutes: false,
  });
  registerErrorHandling(app);
  deps.metrics.collectProcessMetrics();

  app.get("/metrics", { logLevel: "warn" }, async (request, reply) => {
    const text = await deps.metrics.scrape(request.log);
    return reply
      .header("content-type", deps.metrics.registry.contentType)
      .header("cache-control", "no-store")
      .send(text);
  });
  await registerQueueBoard(app, deps);
  return app;
}
