import { randomBytes } from "node:crypto";
import { loggerOptions } from "@vwksp/core";
import Fastify, { type FastifyServerOptions } from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { agentEventRoutes } from "./agent/events.routes.ts";
import { agentJobRoutes } from "./agent/jobs.routes.ts";
import { createLongPoll } from "./agent/long-poll.ts";
import { registrationRoutes } from "./agent/registration.routes.ts";
import { apiKeyRoutes } from "./api-keys/api-keys.routes.ts";
import { catalogRoutes } from "./catalog/catalog.routes.ts";
import { sharedCatalogRoutes } from "./catalog/shared-catalog.routes.ts";
import { clusterRoutes } from "./clusters/clusters.routes.ts";
import { gitopsRoutes } from "./clusters/gitops.routes.ts";
import { pushCredentialRoutes } from "./clusters/push-credential.routes.ts";
import { registrationTokenRoutes } from "./clusters/registration-tokens.routes.ts";
import type { ApiDeps } from "./deps.ts";
import { observabilityRoutes } from "./events/observability.routes.ts";
import { healthRoutes } from "./health/health.routes.ts";
import { trustProxyOption } from "./http/client-address.ts";
import { registerContentTypes } from "./http/content-types.ts";
import { answerUnroutableUrl, registerErrorHandling } from "./http/errors.ts";
import { registerOpenApi } from "./http/openapi.ts";
import { refuseUndeclaredAdminInput } from "./http/strict-admin.ts";
import { limitUnauthenticatedBodies } from "./http/unauthenticated-bodies.ts";
import { jobRoutes } from "./jobs/jobs.routes.ts";
import { registerRequestMetrics } from "./metrics/request-metrics.ts";
import { odooRoutes } from "./odoo/odoo.routes.ts";
import { organizationRoutes } from "./organizations/organizations.routes.ts";
import { webhookRoutes } from "./webhooks/webhooks.routes.ts";

export const BODY_LIMIT_BYTES = 1024 * 1024;
const CLOSE_GRACE_MS = 5_000;

/**
 * Request ids `rq-<20 hex>`: 12 random hex (48 bits) per app instance, then a counter. Unique
 * across processes in practice, without a crypto call per request (one showed in the hot-path
 * profile).
 */
function requestIds() {
  const prefix = randomBytes(6).toString("hex");
  let counter = 0;
  return () => {
    counter = (counter + 1) >>> 0;
    return `rq-${prefix}${counter.toString(16).padStart(8, "0")}`;
  };
}

export interface BuildAppOptions {
  /** Override logging (tests capture it); defaults to pino at the configured level. */
  logger?: FastifyServerOptions["loggerInstance"];
  /** How often waiting polls re-check for jobs without a wake-up (default 2 s). */
  longPollRecheckMs?: number;
}

/** The whole HTTP application as a plugin-built instance, separate from `listen`. */
export async function buildApp(deps: ApiDeps, options: BuildAppOptions = {}) {
  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: loggerOptions(deps.config.LOG_LEVEL, "api", deps.config.LOG_FORMAT) }),
    genReqId: requestIds(),
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(deps.config.TRUST_PROXY),
    // A slow client may not hold a connection (and the body received so far) for long: the
    // request, headers and body, must arrive within REQUEST_TIMEOUT_SECONDS, or Node answers
    // 408 and closes. The clock stops once the request has arrived, so a long-poll's hold of up
    // to 300 s is not affected; nor is an idle keep-alive connection (keepAliveTimeout).
    requestTimeout: deps.config.REQUEST_TIMEOUT_SECONDS * 1000,
    http: {
      headersTimeout: deps.config.REQUEST_TIMEOUT_SECONDS * 1000,
      connectionsCheckingInterval: 1_000,
    },
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    // No implicit HEAD twin of every GET: a HEAD of the long-poll would claim jobs and drop them
    // with the body it does not send. Only the health checks take HEAD (their own option).
    exposeHeadRoutes: false,
    frameworkErrors: answerUnroutableUrl,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook("onSend", async (request, reply, payload) => {
    reply.header("x-request-id", request.id);
    return payload;
  });

  registerErrorHandling(app);
  registerContentTypes(app);
  limitUnauthenticatedBodies(app);
  await registerOpenApi(app);
  refuseUndeclaredAdminInput(app);

  registerRequestMetrics(app, deps.metrics);
  await app.register(healthRoutes, { deps });
  await app.register(apiKeyRoutes, { deps });
  await app.register(webhookRoutes, { deps });
  await app.register(clusterRoutes, { deps });
  await app.register(pushCredentialRoutes, { deps });
  await app.register(registrationTokenRoutes, { deps });
  await app.register(gitopsRoutes, { deps });
  await app.register(registrationRoutes, { deps });
  const longPoll = createLongPoll(deps, app.log, { recheckMs: options.longPollRecheckMs });
  app.decorate("longPollStats", longPoll.stats);
  deps.metrics.trackLongPoll(longPoll.stats);
  await app.register(agentJobRoutes, { deps, longPoll });
  await app.register(jobRoutes, { deps });
  await app.register(catalogRoutes, { deps });
  await app.register(sharedCatalogRoutes, { deps });
  await app.register(agentEventRoutes, { deps });
  await app.register(observabilityRoutes, { deps });
  await app.register(odooRoutes, { deps });
  await app.register(organizationRoutes, { deps });
  deps.heartbeats.start();

  // Waiting polls are answered with {"jobs": []} before the server stops accepting.
  // Then in-flight requests get a few seconds to finish before the remaining connections are cut
  // (a socket that never sent a request would otherwise hold close() until headersTimeout).
  app.addHook("preClose", async () => {
    longPoll.close();
    setTimeout(() => app.server.closeAllConnections?.(), CLOSE_GRACE_MS).unref();
  });

  // Invalidations and job wake-ups from other processes; do not hold startup hostage to Redis.
  app.addHook("onReady", async () => {
    const subscribed = Promise.all([deps.startRealtime(), longPoll.start()]).catch((error: unknown) => {
      app.log.error({ err: error }, "could not subscribe to invalidations");
    });
    await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
  });

  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;

declare module "fastify" {
  interface FastifyInstance {
    /** Waiting polls held by this process (clusters and requests). */
    longPollStats(): { clusters: number; waiters: number };
  }
}
