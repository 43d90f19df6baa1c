import type { Db } from "../db.ts";

type EndpointRow = Awaited<ReturnType<Db["webhookEndpoint"]["findFirstOrThrow"]>>;
type DeliveryRow = Awaited<ReturnType<Db["webhookDelivery"]["findFirstOrThrow"]>>;

/** A webhook endpoint as the admin API shows it (never its secret). */
export const toWebhookEndpointView = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  createdAt: row.createdAt.toISOString(),
  disabledAt: row.disabledAt?.toISOString() ?? null,
  disabledReason: row.disabledReason,
});

/** One entry of an endpoint's delivery log. */
export const toWebhookDeliveryView = (row: DeliveryRow) => ({
  id: row.id,
  messageId: row.messageId,
  eventId: row.outboxEventId.toString(),
  type: row.type,
  status: row.status as "pending" | "delivered" | "failed",
  attempts: row.attempts,
  nextAttemptAt: row.status === "pending" ? row.nextAttemptAt.toISOString() : null,
  lastStatusCode: row.lastStatusCode,
  lastError: row.lastError,
  createdAt: row.createdAt.toISOString(),
  deliveredAt: row.deliveredAt?.toISOString() ?? null,
});
