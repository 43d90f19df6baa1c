import { pingDatabase } from "@vwksp/core";
import { pingWithin, withTimeout } from "@vwksp/queue";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../deps.ts";
import { sendEnvelope } from "../http/errors.ts";
import { errorResponses } from "../http/responses.ts";

/** Under the readiness probe's own 3 s (deploy/kubernetes); a loaded but healthy process answers in time. */
const CHECK_TIMEOUT_MS = 2_000;

/** Whether `work` finished within `ms` (a probe's answer, never its error). */
const within = (ms: number, work: () => Promise<unknown>): Promise<boolean> =>
  withTimeout(work(), ms, "readiness check").then(
    () => true,
    () => false,
  );

export const healthRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get(
    "/healthz",
    {
      schema: {
        operationId: "healthz",
        tags: ["health"],
        summary: "The process is alive",
        description: "Liveness: answers 200 as long as the process serves HTTP; it checks no dependency.",
        security: [],
        response: { 200: z.object({ status: z.literal("ok") }) },
      },
      logLevel: "warn",
      exposeHeadRoute: true,
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "readyz",
        tags: ["health"],
        summary: "PostgreSQL and Redis are reachable",
        description:
          "Readiness: checks PostgreSQL and Redis, each within 1 s. While either is unreachable the answer is 503 " +
          "with Retry-After: 5 and error `not_ready`, so a load balancer or Kubernetes takes the instance out of rotation.",
        security: [],
        response: {
          ...errorResponses({
            503: "PostgreSQL or Redis is unreachable (message names which); Retry-After: 5",
          }),
          200: z.object({
            status: z.literal("ready"),
            checks: z.object({ postgres: z.boolean(), redis: z.boolean() }),
          }),
        },
      },
      logLevel: "warn",
      exposeHeadRoute: true,
    },
    async (request, reply) => {
      const [postgres, redis] = await Promise.all([
        within(CHECK_TIMEOUT_MS, () => pingDatabase(deps.db)),
        within(CHECK_TIMEOUT_MS, () => pingWithin(deps.redis, CHECK_TIMEOUT_MS)),
      ]);
      if (!postgres || !redis) {
        const down = [!postgres && "PostgreSQL", !redis && "Redis"].filter(Boolean).join(" and ");
        return sendEnvelope(request, reply, {
          status: 503,
          code: "not_ready",
          message: `${down} unreachable`,
          retryAfter: 5,
        });
      }
      return { status: "ready" as const, checks: { postgres, redis } };
    },
  );
};
