import { z } from "zod";
import { Rfc3339 } from "../common.ts";

/** Outbound webhooks (docs/webhooks.md); the signing secret appears only in the answer that creates it. */
export const WebhookEventType = z
  .enum([
    "cluster.registered",
    "cluster.connected",
    "cluster.disconnected",
    "cluster.health_changed",
    "application.state_changed",
    "job.finished",
    "token.consumed",
  ])
  .meta({ id: "WebhookEventType" });

export const WebhookView = z
  .object({
    id: z.string().uuid(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: Rfc3339,
    disabledAt: Rfc3339.nullable().describe("set when deliveries failed for about a day"),
    disabledReason: z.string().nullable().describe("why the endpoint was disabled"),
  })
  .meta({ id: "WebhookView" });

export const WebhookList = z.object({ items: z.array(WebhookView) }).meta({ id: "WebhookList" });

export const CreatedWebhook = WebhookView.extend({
  secret: z.string().describe("the signing secret `whsec_…` (Standard Webhooks), shown only in this answer"),
}).meta({ id: "CreatedWebhook" });

export const CreateWebhookBody = z
  .strictObject({
    url: z.string().max(2000).describe("the receiver's http(s) URL; private addresses are refused"),
    events: z.array(WebhookEventType).min(1).max(16).describe("the event types to receive"),
    description: z.string().trim().max(500).optional(),
  })
  .meta({ id: "CreateWebhookBody" });
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const WebhookIdParams = z.object({
  id: z
    .string()
    .uuid("webhook id must be a UUID")
    .meta({ description: "the webhook's id", examples: ["3f0c6a52-8b1d-4e7a-9c2f-5d8e1a7b4c90"] }),
});

export const WebhookDeliveryParams = WebhookIdParams.extend({
  deliveryId: z
    .string()
    .uuid("delivery id must be a UUID")
    .meta({ description: "the delivery's id", examples: ["b7e2d4f1-0a3c-4b5d-8e9f-1c2a3b4d5e6f"] }),
});

export const WebhookDeliveryView = z
  .object({
    id: z.string().uuid(),
    messageId: z.string().describe("the webhook-id header: the same on every attempt and redelivery"),
    eventId: z.string().describe("the outbox event"),
    type: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: Rfc3339.nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: Rfc3339,
    deliveredAt: Rfc3339.nullable(),
  })
  .meta({ id: "WebhookDeliveryView" });

export const WebhookDeliveryList = z
  .object({ items: z.array(WebhookDeliveryView) })
  .meta({ id: "WebhookDeliveryList" });
