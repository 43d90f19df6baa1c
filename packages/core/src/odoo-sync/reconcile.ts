import { isOdooError } from "@vwksp/odoo";
import { laterOf, recordPages, type SyncContext } from "./context.ts";
import { emptyCounts } from "./pull.ts";
import { pushCluster, runtimeChanges } from "./push.ts";
import type { OdooRecord } from "./record-values.ts";
import { takeRecord } from "./take-record.ts";

const CLUSTER_PAGE = 500;

/**
 * The periodic full comparison, also run at start and when the bridge recovers from an access
 * error: every Odoo record is taken again (what a pull missed, what was refused for a reason that
 * may be gone), and every cluster whose record is missing, differs in runtime fields or had a
 * failed push is pushed again, at once. Nothing dropped after an error stays dropped.
 */
export async function reconcile(ctx: SyncContext) {
  const fields = await ctx.modelFields.get();
  const counts = { ...emptyCounts(), pushed: 0, pushFailed: 0, removed: 0 };
  const recordOf = new Map<string, OdooRecord>();
  let newest: string | null = null;
  for await (const page of recordPages(ctx, fields, [])) {
    for (const record of page) {
      const taken = await takeRecord(ctx, fields, record, { thorough: true });
      counts[taken.outcome] += 1;
      if (taken.clusterId) recordOf.set(taken.clusterId, record);
      newest = laterOf(newest, record.write_date);
    }
  }
  let after: string | undefined;
  for (;;) {
    const clusters = await ctx.db.cluster.findMany({
      where: { odooRemovedAt: null, ...(after ? { id: { gt: after } } : {}) },
      orderBy: { id: "asc" },
      take: CLUSTER_PAGE,
    });
    for (const cluster of clusters) {
      const record = recordOf.get(cluster.id);
      const inStep =
        record !== undefined &&
        record.id === cluster.odooRecordId &&
        cluster.odooSyncError === null &&
        Object.keys(runtimeChanges(fields, cluster, record)).length === 0;
      if (inStep) continue;
      const outcome = await pushSafely(ctx, cluster.id);
      if (outcome === "failed") counts.pushFailed += 1;
      else if (outcome === "removed") counts.removed += 1;
      else counts.pushed += 1;
    }
    if (clusters.length < CLUSTER_PAGE) break;
    after = clusters.at(-1)?.id;
  }
  await markReconciled(ctx, newest);
  return counts;
}

/** A refused push is kept on its cluster and the pass goes on; an outage ends the pass (retried). */
async function pushSafely(ctx: SyncContext, clusterId: string) {
  try {
    return await pushCluster(ctx, clusterId);
  } catch (error) {
    if (isOdooError(error) && !error.retryable) return "failed" as const;
    throw error;
  }
}

async function markReconciled(ctx: SyncContext, newest: string | null) {
  const now = ctx.clock.now();
  const state = await ctx.db.odooCursor.findUnique({ where: { model: ctx.model } });
  // A first pass leaves the cursor where it read: the next pull need not read everything again.
  const cursor = state?.cursor ?? newest;
  await ctx.db.odooCursor.upsert({
    where: { model: ctx.model },
    create: { model: ctx.model, cursor, lastReconcileAt: now },
    update: { cursor, lastReconcileAt: now },
  });
}

export type ReconcileCounts = Awaited<ReturnType<typeof reconcile>>;
