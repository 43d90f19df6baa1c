import { isOdooError } from "@vwksp/odoo";
import type { OdooOutbox, OutboxEventRow } from "../outbox/outbox.ts";
import { type AppSyncContext, applicationUrl, pushApplication } from "./applications-sync.ts";
import { pushCluster } from "./push.ts";

const DEFER = Symbol("defer");
/** How long a first connection's message waits for the operator's version. */
const VERSION_WAIT_MS = 60_000;

export interface DrainContext extends AppSyncContext {
  outbox: OdooOutbox;
  /** ODOO_CHATTER: post meaningful transitions on the cluster's chatter (when its model has one). */
  chatter: boolean;
}

/**
 * The chatter message an event deserves, or undefined. Meaningful transitions only: a cluster's
 * first connection, its disconnection and reconnection, an application becoming Ready (with its
 * URL) or failing (with the reason). Heartbeats never reach the outbox.
 */
async function chatterMessage(
  ctx: DrainContext,
  event: OutboxEventRow,
): Promise<string | typeof DEFER | undefined> {
  const data = event.data as Record<string, unknown>;
  switch (event.kind) {
    case "ClusterConnected": {
      if (data.first === false) return "Reconnected: the agent registered again";
      const cluster = await ctx.db.cluster.findUnique({ where: { id: event.clusterId ?? "" } });
      const version = cluster?.operatorVersion;
      if (version) return `Connected, operator ${/^\d/.test(version) ? "v" : ""}${version}`;
      // The operator's version comes with its first heartbeat, moments after registering: wait
      // for it a little (the heartbeat that brings it drains the outbox again).
      const age = ctx.clock.now().getTime() - event.createdAt.getTime();
      return age < VERSION_WAIT_MS ? DEFER : "Connected";
    }
    case "ClusterReconnected":
      return "Reconnected";
    case "ClusterDisconnected":
      return `Disconnected: no heartbeat for ${String(data.timeoutSeconds ?? "?")} s`;
    case "ApplicationChanged": {
      if (data.from === data.to) return undefined;
      const label = `${String(data.namespace)}/${String(data.name)}`;
      if (data.to === "deployed") {
        const app = await ctx.db.application.findUnique({ where: { id: event.applicationId ?? "" } });
        const url = app ? applicationUrl({ state: "deployed", hostname: app.hostname }) : undefined;
        return url ? `Application ${label} is ready: ${url}` : `Application ${label} is ready`;
      }
      if (data.to === "failed")
        return `Application ${label} failed: ${String(data.reason ?? "no reason given")}`;
      return undefined;
    }
  }
}

async function postChatter(ctx: DrainContext, clusterId: string, body: string) {
  const fields = await ctx.modelFields.get();
  if (!fields.chatter) return "no-chatter" as const;
  let cluster = await ctx.db.cluster.findUnique({ where: { id: clusterId } });
  if (!cluster || cluster.odooRemovedAt !== null) return "unlinked" as const;
  if (cluster.odooRecordId === null) {
    await pushCluster(ctx, clusterId);
    cluster = await ctx.db.cluster.findUnique({ where: { id: clusterId } });
    if (!cluster?.odooRecordId) return "unlinked" as const;
  }
  await ctx.client.call(ctx.model, "message_post", {
    ids: [cluster.odooRecordId],
    body,
    message_type: "comment",
    subtype_xmlid: "mail.mt_note",
  });
  return "posted" as const;
}

/**
 * Drains the outbox into Odoo: each application named by an event is pushed once per drain
 * (however many changes it went through: the push writes what it is now), and each event worth
 * a chatter message posts one. An event is marked done once handled; Odoo's refusal of one
 * application's push is kept on that application (the reconciliation tries again) and does not
 * hold the others. An outage releases what is left and throws, for the job's backoff.
 */
export async function drainOutbox(ctx: DrainContext, limit = 200) {
  const counts = { events: 0, pushed: 0, posted: 0, refused: 0, deferred: 0 };
  for (;;) {
    const events = await ctx.outbox.claim(limit);
    if (events.length === 0) return counts;
    const deferred: bigint[] = [];
    const pushed = new Set<string>();
    let index = 0;
    try {
      for (; index < events.length; index += 1) {
        const event = events[index] as OutboxEventRow;
        if (event.applicationId && !pushed.has(event.applicationId)) {
          try {
            await pushApplication(ctx, event.applicationId);
            counts.pushed += 1;
          } catch (error) {
            if (!isOdooError(error) || error.retryable) throw error;
            counts.refused += 1;
          }
          pushed.add(event.applicationId);
        }
        const body = ctx.chatter && event.clusterId ? await chatterMessage(ctx, event) : undefined;
        if (body === DEFER) {
          deferred.push(event.id);
          counts.deferred += 1;
          continue;
        }
        if (body && event.clusterId) {
          try {
            if ((await postChatter(ctx, event.clusterId, body)) === "posted") counts.posted += 1;
          } catch (error) {
            if (!isOdooError(error) || error.retryable) throw error;
            counts.refused += 1; // a refused message is not retried: the chatter is informative
          }
        }
        await ctx.outbox.done([event.id]);
        counts.events += 1;
      }
    } catch (error) {
      await ctx.outbox
        .release([...deferred, ...events.slice(index).map((event) => event.id)])
        .catch(() => undefined);
      throw error;
    }
    await ctx.outbox.release(deferred);
    if (events.length < limit || deferred.length === events.length) return counts;
  }
}
