import { randomBytes, randomUUID } from "node:crypto";
import { WebhookEventType as WebhookEventTypeSchema } from "@vwksp/protocol";
import type { Clock } from "../clock.ts";
import type { Db, Prisma } from "../db.ts";
import { badRequest, notFound } from "../errors.ts";
import type { OutboxEventRow } from "../outbox/outbox.ts";
import type { Sealer } from "../secrets/sealer.ts";
import { checkHost } from "./address-policy.ts";
import { sendWebhook } from "./send.ts";
import { toWebhookDeliveryView, toWebhookEndpointView } from "./webhooks.dto.ts";
import { CLAIM_DELIVERY_SQL, DUE_DELIVERIES_SQL, UNFANNED_EVENTS_SQL } from "./webhooks.sql.ts";

/** The event types an endpoint may subscribe to (docs/webhooks.md), as the protocol names them. */
export const WEBHOOK_EVENT_TYPES = WebhookEventTypeSchema.options;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Delays between attempts, after the first (as Standard Webhooks' reference implementation):
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — about 27 hours in all, then the endpoint is disabled.
 */
export const WEBHOOK_RETRY_DELAYS_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** The webhook event type of an outbox event (undefined: not one webhooks carry). */
export function webhookTypeOf(event: Pick<OutboxEventRow, "kind" | "data">): WebhookEventType | undefined {
  switch (event.kind as string) {
    case "ClusterConnected":
      return (event.data as { first?: unknown }).first === false ? "cluster.connected" : "cluster.registered";
    case "ClusterReconnected":
      return "cluster.connected";
    case "ClusterDisconnected":
      return "cluster.disconnected";
    case "ClusterHealthChanged":
      return "cluster.health_changed";
    case "ApplicationChanged": {
      // Also written for a new request without a state change: not a state change.
      const data = event.data as { from?: unknown; to?: unknown };
      return data.from === data.to ? undefined : "application.state_changed";
    }
    case "JobFinished":
      return "job.finished";
    case "TokenConsumed":
      return "token.consumed";
    default:
      return undefined;
  }
}

/** The body {type, timestamp, data} of an outbox event. */
export function webhookPayload(event: OutboxEventRow, type: WebhookEventType) {
  return {
    type,
    timestamp: event.createdAt.toISOString(),
    data: {
      ...(event.organizationId ? { organizationId: event.organizationId } : {}),
      ...(event.clusterId ? { clusterId: event.clusterId } : {}),
      ...(event.applicationId ? { applicationId: event.applicationId } : {}),
      ...event.data,
    },
  };
}

export interface WebhooksOptions {
  db: Db;
  clock: Clock;
  /** Seals the signing secrets (SECRET_KEY); without it they are stored in clear. */
  sealer?: Sealer;
  allowPrivate: boolean;
  retryDelaysMs?: number[];
  timeoutMs?: number;
  /** A claim older than this belongs to a worker that died mid-send: taken again. */
  claimStaleMs?: number;
}

const secretContext = (id: string) => `webhook:${id}`;

export function createWebhooksService(options: WebhooksOptions) {
  const { db, clock, sealer, allowPrivate } = options;
  const retryDelays = options.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const claimStaleMs = options.claimStaleMs ?? timeoutMs + 20_000;

  async function checkUrl(raw: string) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw badRequest("invalid_webhook_url", "url must be an absolute http(s) URL");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw badRequest("invalid_webhook_url", "url must be an absolute http(s) URL");
    if (url.username || url.password)
      throw badRequest("invalid_webhook_url", "url must not carry credentials");
    try {
      await checkHost(url.hostname, allowPrivate);
    } catch (error) {
      throw badRequest("webhook_url_refused", (error as Error).message);
    }
  }

  async function create(
    organizationId: string,
    input: { url: string; events: WebhookEventType[]; description?: string },
  ) {
    await checkUrl(input.url);
    const id = randomUUID();
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    const row = await db.webhookEndpoint.create({
      data: {
        id,
        organizationId,
        url: input.url,
        events: [...new Set(input.events)],
        description: input.description ?? null,
        secret: sealer ? sealer.seal(secret, secretContext(id)) : secret,
        createdAt: clock.now(),
      },
    });
    return { ...toWebhookEndpointView(row), secret };
  }

  async function find(organizationId: string, id: string) {
    const row = await db.webhookEndpoint.findFirst({ where: { id, organizationId, deletedAt: null } });
    if (!row) throw notFound("webhook not found");
    return row;
  }

  async function list(organizationId: string) {
    const rows = await db.webhookEndpoint.findMany({
      where: { organizationId, deletedAt: null },
      orderBy: { createdAt: "desc" },
    });
    return rows.map(toWebhookEndpointView);
  }

  async function get(organizationId: string, id: string) {
    return toWebhookEndpointView(await find(organizationId, id));
  }

  /** Deleted at once: nothing more is sent to it (its log goes with it). */
  async function remove(organizationId: string, id: string) {
    await find(organizationId, id);
    await db.webhookEndpoint.delete({ where: { id } });
  }

  async function deliveries(organizationId: string, id: string, limit = 100) {
    await find(organizationId, id);
    const rows = await db.webhookDelivery.findMany({
      where: { endpointId: id },
      orderBy: [{ createdAt: "desc" }, { outboxEventId: "desc" }],
      take: limit,
    });
    return rows.map(toWebhookDeliveryView);
  }

  /**
   * Sends a delivery again (same webhook-id, so receivers dedupe), with a fresh retry schedule.
   * A disabled endpoint is enabled again: redelivering says its receiver is fixed.
   */
  async function redeliver(organizationId: string, id: string, deliveryId: string) {
    const endpoint = await find(organizationId, id);
    const row = await db.webhookDelivery.findFirst({ where: { id: deliveryId, endpointId: endpoint.id } });
    if (!row) throw notFound("delivery not found");
    const now = clock.now();
    if (endpoint.disabledAt)
      await db.webhookEndpoint.update({ where: { id }, data: { disabledAt: null, disabledReason: null } });
    const updated = await db.webhookDelivery.update({
      where: { id: deliveryId },
      data: { status: "pending", attempts: 0, nextAttemptAt: now, claimedAt: null },
    });
    return toWebhookDeliveryView(updated);
  }

  /**
   * Gives each outbox event not fanned out yet one delivery per enabled endpoint of its
   * organization that subscribes to its type, in one transaction with the event's marker (the
   * Odoo bridge's columns are not touched). Returns how many events it took and the new
   * deliveries' ids.
   */
  async function fanOut(limit = 200): Promise<{ events: number; ids: string[] }> {
    return db.$transaction(async (tx) => {
      const events = await tx.$queryRawUnsafe<OutboxEventRow[]>(UNFANNED_EVENTS_SQL, limit);
      if (events.length === 0) return { events: 0, ids: [] };
      const orgs = [...new Set(events.map((e) => e.organizationId).filter((o): o is string => !!o))];
      const endpoints = orgs.length
        ? await tx.webhookEndpoint.findMany({
            where: { organizationId: { in: orgs }, disabledAt: null, deletedAt: null },
            select: { id: true, organizationId: true, events: true },
          })
        : [];
      const rows: Prisma.WebhookDeliveryCreateManyInput[] = [];
      for (const event of events) {
        const type = webhookTypeOf(event);
        if (!type || !event.organizationId) continue;
        for (const endpoint of endpoints) {
          if (endpoint.organizationId !== event.organizationId || !endpoint.events.includes(type)) continue;
          const deliveryId = randomUUID();
          rows.push({
            id: deliveryId,
            endpointId: endpoint.id,
            outboxEventId: event.id,
            messageId: `msg_${deliveryId.replaceAll("-", "")}`,
            type,
            payload: webhookPayload(event, type) as Prisma.InputJsonValue,
            createdAt: clock.now(),
            nextAttemptAt: clock.now(),
          });
        }
      }
      const created = rows.length
        ? await tx.webhookDelivery.createManyAndReturn({
            data: rows,
            skipDuplicates: true,
            select: { id: true },
          })
        : [];
      await tx.outboxEvent.updateMany({
        where: { id: { in: events.map((e) => e.id) } },
        data: { webhooksFannedAt: clock.now() },
      });
      return { events: events.length, ids: created.map((c) => c.id) };
    });
  }

  /** Deliveries whose attempt is due and nobody holds (the backstop behind the queue). */
  async function due(limit = 500) {
    const now = clock.now();
    return db.$queryRawUnsafe<{ id: string; attempts: number }[]>(
      DUE_DELIVERIES_SQL,
      now.toISOString(),
      new Date(now.getTime() - claimStaleMs).toISOString(),
      limit,
    );
  }

  /**
   * One attempt of one delivery: taken (so two workers never send it at once), signed, POSTed.
   * 2xx: delivered. Otherwise the next attempt is scheduled; after the last one the delivery has
   * failed and its endpoint is disabled with the reason. Returns when to try again, if at all.
   */
  async function attempt(
    deliveryId: string,
  ): Promise<{ outcome: string; retryAt?: Date; attempts?: number }> {
    const now = clock.now();
    const claimed = await db.$queryRawUnsafe<{ id: string; attempts: number }[]>(
      CLAIM_DELIVERY_SQL,
      deliveryId,
      now.toISOString(),
      new Date(now.getTime() - claimStaleMs).toISOString(),
    );
    const claim = claimed[0];
    if (!claim) return { outcome: "not-due" };
    const row = await db.webhookDelivery.findUniqueOrThrow({
      where: { id: deliveryId },
      include: { endpoint: true },
    });
    const endpoint = row.endpoint;
    if (endpoint.disabledAt || endpoint.deletedAt) {
      await db.webhookDelivery.update({
        where: { id: deliveryId },
        data: {
          status: "failed",
          claimedAt: null,
          lastError: `endpoint disabled: ${endpoint.disabledReason ?? ""}`,
        },
      });
      return { outcome: "endpoint-disabled" };
    }
    let secret = endpoint.secret;
    let result: Awaited<ReturnType<typeof sendWebhook>> | undefined;
    if (!secret.startsWith("whsec_")) {
      try {
        if (!sealer) throw new Error("the signing secret is sealed under SECRET_KEY, which is not set here");
        secret = sealer.open(secret, secretContext(endpoint.id));
      } catch (error) {
        secret = "";
        result = { ok: false, error: (error as Error).message };
      }
    }
    result ??= await sendWebhook({
      url: endpoint.url,
      secret,
      messageId: row.messageId,
      timestamp: clock.now(),
      body: JSON.stringify(row.payload),
      timeoutMs,
      allowPrivate,
    });
    const after = clock.now();
    if (result.ok) {
      await db.webhookDelivery.update({
        where: { id: deliveryId },
        data: {
          status: "delivered",
          deliveredAt: after,
          claimedAt: null,
          lastStatusCode: result.statusCode ?? null,
          lastError: null,
        },
      });
      return { outcome: "delivered" };
    }
    const error = (result.error ?? "failed").slice(0, 1000);
    const delay = retryDelays[claim.attempts - 1];
    if (delay === undefined) {
      const reason = `deliveries failed for ${claim.attempts} attempts since ${row.createdAt.toISOString()}: ${error}`;
      await db.$transaction([
        db.webhookDelivery.update({
          where: { id: deliveryId },
          data: {
            status: "failed",
            claimedAt: null,
            lastStatusCode: result.statusCode ?? null,
            lastError: error,
          },
        }),
        db.webhookEndpoint.updateMany({
          where: { id: endpoint.id, disabledAt: null },
          data: { disabledAt: after, disabledReason: reason },
        }),
      ]);
      return { outcome: "failed" };
    }
    const retryAt = new Date(after.getTime() + delay);
    await db.webhookDelivery.update({
      where: { id: deliveryId },
      data: {
        nextAttemptAt: retryAt,
        claimedAt: null,
        lastStatusCode: result.statusCode ?? null,
        lastError: error,
      },
    });
    return { outcome: "retry", retryAt, attempts: claim.attempts };
  }

  return { create, list, get, remove, deliveries, redeliver, fanOut, due, attempt };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
