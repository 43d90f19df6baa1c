import type { WebhookEventType } from "@vwksp/core";
import {
  CreatedWebhook,
  CreateWebhookBody,
  WebhookDeliveryList,
  WebhookDeliveryParams,
  WebhookDeliveryView,
  WebhookIdParams,
  WebhookList,
  WebhookView,
} from "@vwksp/protocol";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { principalOf, requireScope } from "../auth/admin-auth.ts";
import type { ApiDeps } from "../deps.ts";
import { errorResponses, NoContent } from "../http/responses.ts";

/** Outbound webhooks of the caller's organization (docs/webhooks.md). */
export const webhookRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ["webhooks"];
  const security = [{ apiKey: [] }];
  const read = requireScope(deps, "webhooks:read");
  const write = requireScope(deps, "webhooks:write");
  const org = (request: Parameters<typeof principalOf>[0]) => principalOf(request).organizationId;

  app.get(
    "/api/v1/webhooks",
    {
      schema: {
        operationId: "listWebhooks",
        tags,
        security,
        summary: "The organization's webhooks, newest first (never their secrets)",
        response: { 200: WebhookList },
      },
      onRequest: read,
    },
    async (request) => ({ items: await deps.webhooks.list(org(request)) }),
  );

  app.post(
    "/api/v1/webhooks",
    {
      schema: {
        operationId: "createWebhook",
        tags,
        security,
        summary:
          "Create a webhook; the answer is the only time its signing secret is shown. Loopback and private addresses are refused unless WEBHOOKS_ALLOW_PRIVATE=true",
        body: CreateWebhookBody,
        response: {
          201: CreatedWebhook,
          ...errorResponses({
            400: "invalid_webhook_url, webhook_url_refused: the URL is not http(s), or resolves to a private address",
          }),
        },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const created = await deps.webhooks.create(org(request), {
        url: request.body.url,
        events: request.body.events as WebhookEventType[],
        ...(request.body.description ? { description: request.body.description } : {}),
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    "/api/v1/webhooks/:id",
    {
      schema: {
        operationId: "getWebhook",
        tags,
        security,
        summary: "One webhook (never its secret); disabledReason says why it was disabled",
        params: WebhookIdParams,
        response: { 200: WebhookView, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => deps.webhooks.get(org(request), request.params.id),
  );

  app.delete(
    "/api/v1/webhooks/:id",
    {
      schema: {
        operationId: "deleteWebhook",
        tags,
        security,
        summary: "Delete a webhook and its delivery log: nothing more is sent to it",
        params: WebhookIdParams,
        response: { 204: NoContent, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      await deps.webhooks.remove(org(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/api/v1/webhooks/:id/deliveries",
    {
      schema: {
        operationId: "listWebhookDeliveries",
        tags,
        security,
        summary: "The webhook's latest 100 deliveries, newest first: status, attempts, last answer",
        params: WebhookIdParams,
        response: { 200: WebhookDeliveryList, ...errorResponses(404) },
      },
      onRequest: read,
    },
    async (request) => ({ items: await deps.webhooks.deliveries(org(request), request.params.id) }),
  );

  app.post(
    "/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver",
    {
      schema: {
        operationId: "redeliverWebhook",
        tags,
        security,
        summary:
          "Send a delivery again, with the same webhook-id (receivers dedupe) and a fresh retry schedule; enables a disabled webhook",
        params: WebhookDeliveryParams,
        response: { 202: WebhookDeliveryView, ...errorResponses(404) },
      },
      onRequest: write,
    },
    async (request, reply) => {
      const delivery = await deps.webhooks.redeliver(
        org(request),
        request.params.id,
        request.params.deliveryId,
      );
      // The worker's sweep sends it should this enqueue be lost.
      await deps.queues
        .enqueue(
          "webhooks",
          "deliver",
          { deliveryId: delivery.id },
          { jobId: `${delivery.id}-0`, removeOnComplete: true, removeOnFail: true },
        )
        .catch(() => {});
      return reply.code(202).send(delivery);
    },
  );
};
