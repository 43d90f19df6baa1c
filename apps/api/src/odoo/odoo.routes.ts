import { createHash, timingSafeEqual } from "node:crypto";
import { conflict, DomainError } from "@vwksp/core";
import { OdooStatus } from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses } from "../http/responses.ts";

/**
 * Odoo 17+ "Send Webhook Notification" body; Odoo adds the record's fields, we need its id. The
 * one admin-side body that stays loose: Odoo decides what else it sends, not the caller.
 */
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
        summary: "Health of the Odoo bridge (platform:admin: it spans every organization)",
        response: { 200: OdooStatus },
      },
      // One bridge for the whole service: its errors name clusters of every organization.
      onRequest: requireScope(deps, "platform:admin"),
    },
    async () => deps.odooStatus.readOdooStatus(),
  );

  app.post(
    "/api/v1/odoo/webhook",
    {
      schema: {
        operationId: "odooWebhook",
        tags: ["odoo"],
        summary: "Odoo's Send Webhook Notification (the secret travels in the URL): pulls that record now",
        security: [{ webhookSecret: [] }],
        // Loose on purpose, like the body: Odoo calls the URL an admin typed, which may carry more.
        querystring: z.looseObject({
          secret: z
            .string()
            .max(500)
            .optional()
            .describe("ODOO_WEBHOOK_SECRET; Odoo's webhook URL carries it"),
        }),
        body: WebhookBody,
        response: {
          202: z.object({ queued: z.literal(true) }).describe("The record's pull is queued"),
          ...errorResponses({ 409: "odoo_disabled: the Odoo bridge is off (ODOO_URL is unset)" }),
        },
      },
      // Checked before the body is read: a caller without the secret learns nothing about the
      // payload rules, and sends no body we hold.
      onRequest: async (request) => {
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
      const model = request.body._model ?? deps.config.ODOO_CLUSTER_MODEL;
      const synced = [deps.config.ODOO_CLUSTER_MODEL, deps.config.ODOO_APPLICATION_MODEL];
      if (!synced.includes(model)) {
        throw new DomainError(400, "wrong_model", `this webhook syncs ${synced.join(" and ")}, not ${model}`);
      }
      const job = model === deps.config.ODOO_CLUSTER_MODEL ? "pull-record" : "pull-application-record";
      // Now, and again a little later: Odoo 17 posts before its transaction commits, so the first
      // read may see the old values (the pull's overlap window catches longer transactions).
      const retries = { attempts: 10, backoff: { type: "exponential", delay: 1_000 } };
      await deps.queues.enqueue("odoo-sync", job, { odooId: request.body._id }, retries);
      await deps.queues.enqueue(
        "odoo-sync",
        job,
        { odooId: request.body._id },
        { ...retries, delay: deps.config.ODOO_WEBHOOK_REREAD_SECONDS * 1000 },
      );
      return reply.code(202).send({ queued: true as const });
    },
  );
};
