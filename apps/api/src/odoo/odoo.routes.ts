import { createHash, timingSafeEqual } from "node:crypto";
import { conflict, DomainError, isoOrNull, SYNC_STATE_ID } from "@vwksp/core";
import { Rfc3339 } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

const OdooStatus = z
  .object({
    enabled: z.boolean(),
    protocol: z.string().nullable(),
    serverVersion: z.string().nullable(),
    lastPushAt: Rfc3339.nullable(),
    lastPullAt: Rfc3339.nullable(),
    pending: z.number().int().describe("sync jobs waiting, delayed (backing off) or running"),
    lastError: z.string().nullable(),
    lastErrorAt: Rfc3339.nullable(),
  })
  .meta({ id: "OdooStatus" });

/** Odoo 17+ "Send Webhook Notification" body; Odoo adds the record's fields, we need its id. */
const WebhookBody = z.looseObject({
  _model: z.string().max(200).optional(),
  _id: z.number().int().positive(),
  _action: z.string().max(200).optional(),
});

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Constant-time comparison of two secrets of any length. */
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

export const odooRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const enabled = deps.config.ODOO_URL !== undefined;

  app.get(
    "/api/v1/odoo/status",
    {
      schema: {
        operationId: "getOdooSyncStatus",
        tags: ["odoo"],
        security: [{ apiKey: [] }],
        summary: "Health of the Odoo bridge",
        response: { 200: OdooStatus, ...errorResponses(401, 403) },
      },
      preValidation: requireScope(deps, "clusters:read"),
    },
    async () => {
      const state = await deps.db.odooSyncState.findUnique({ where: { id: SYNC_STATE_ID } });
      const counts = enabled
        ? await deps.queues.queue("odoo-sync").getJobCounts("waiting", "delayed", "active", "prioritized")
        : {};
      const pending = Object.values(counts).reduce((sum, count) => sum + count, 0);
      return {
        enabled,
        protocol:
          state?.protocol ??
          (enabled && deps.config.ODOO_PROTOCOL !== "auto" ? deps.config.ODOO_PROTOCOL : null),
        serverVersion: state?.serverVersion ?? null,
        lastPushAt: isoOrNull(state?.lastPushAt),
        lastPullAt: isoOrNull(state?.lastPullAt),
        pending,
        lastError: state?.lastError ?? null,
        lastErrorAt: isoOrNull(state?.lastErrorAt),
      };
    },
  );

  app.post(
    "/api/v1/odoo/webhook",
    {
      schema: {
        operationId: "odooWebhook",
        tags: ["odoo"],
        summary: "Odoo's Send Webhook Notification (the secret travels in the URL): pulls that record now",
        querystring: z.object({ secret: z.string().max(500).optional() }),
        body: WebhookBody,
        response: { 202: z.object({ queued: z.literal(true) }), ...errorResponses(400, 401, 409, 429) },
      },
      // Checked before the body: a caller without the secret learns nothing about the payload rules.
      preValidation: async (request) => {
        const secret = deps.config.ODOO_WEBHOOK_SECRET;
        const given = (request.query as { secret?: unknown }).secret;
        // Counted per address and for the one secret there is, so many addresses cannot share out the guessing.
        const subjects = { address: request.ip, identity: "odoo-webhook" };
        if (!secret || typeof given !== "string" || !sameSecret(given, secret)) {
          const refusal = new DomainError(401, "unauthorized", "missing or wrong webhook secret");
          throw await deps.webhookFailures.refuse(subjects, refusal, request.log);
        }
        // A person chose this secret, so it may be guessable: past the limit even the right one
        // waits, or a guesser would learn it from the one answer that is not a 429. The webhook
        // only hurries a pull that runs every ODOO_SYNC_INTERVAL_SECONDS anyway.
        await deps.webhookFailures.requireUnderLimit(subjects, request.log);
      },
    },
    async (request, reply) => {
      if (!enabled) throw conflict("odoo_disabled", "the Odoo bridge is off (ODOO_URL is unset)");
      if (request.body._model && request.body._model !== deps.config.ODOO_CLUSTER_MODEL) {
        throw new DomainError(
          400,
          "wrong_model",
          `this webhook syncs ${deps.config.ODOO_CLUSTER_MODEL}, not ${request.body._model}`,
        );
      }
      await deps.queues.enqueue(
        "odoo-sync",
        "pull-record",
        { odooId: request.body._id },
        { attempts: 10, backoff: { type: "exponential", delay: 1_000 } },
      );
      return reply.code(202).send({ queued: true as const });
    },
  );
};
