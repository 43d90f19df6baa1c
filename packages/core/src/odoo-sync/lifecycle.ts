import type { Cluster } from "../db.ts";
import { odooActor, type SyncContext } from "./context.ts";

/**
 * What Odoo's archive and delete mean here. Archiving disables the cluster (its agent gets 403),
 * unarchiving re-enables what archiving disabled. Deleting disables it too and marks it removed:
 * its record is never created again. A cluster disabled for another reason stays disabled.
 */

export async function followArchive(ctx: SyncContext, cluster: Cluster, archived: boolean) {
  const actor = odooActor(cluster.organizationId);
  const now = ctx.clock.now();
  if (archived && cluster.odooDisabledAt === null && cluster.status !== "disabled") {
    return ctx.clusters.disable(actor, cluster.id, {
      source: "system",
      reason: `its Odoo record ${cluster.odooRecordId ?? ""} was archived`,
      also: { odooDisabledAt: now },
    });
  }
  if (!archived && cluster.odooDisabledAt !== null && cluster.odooRemovedAt === null) {
    return ctx.clusters.enable(actor, cluster.id, {
      source: "system",
      reason: `its Odoo record ${cluster.odooRecordId ?? ""} was unarchived`,
      also: { odooDisabledAt: null },
    });
  }
  return cluster;
}

/** The cluster's Odoo record is gone (a search by cluster_id and record id found nothing). */
export async function markRemoved(ctx: SyncContext, cluster: Cluster) {
  const actor = odooActor(cluster.organizationId);
  const now = ctx.clock.now();
  await ctx.audit.record({
    source: "system",
    kind: "ClusterRemovedInOdoo",
    actor: actor.id,
    organizationId: cluster.organizationId,
    clusterId: cluster.id,
    data: { odooModel: ctx.model, odooRecordId: cluster.odooRecordId },
  });
  return ctx.clusters.disable(actor, cluster.id, {
    source: "system",
    reason: `its Odoo record ${cluster.odooRecordId ?? ""} was deleted`,
    also: { odooRemovedAt: now, ...(cluster.status === "disabled" ? {} : { odooDisabledAt: now }) },
  });
}

/** A record names a cluster whose record was deleted: linked again, and enabled if removal disabled it. */
export async function relink(ctx: SyncContext, cluster: Cluster, recordId: number, archived: boolean) {
  const actor = odooActor(cluster.organizationId);
  const also = { odooRemovedAt: null, odooRecordId: recordId };
  if (cluster.odooDisabledAt !== null && !archived) {
    return ctx.clusters.enable(actor, cluster.id, {
      source: "system",
      reason: `Odoo record ${recordId} names it again`,
      also: { ...also, odooDisabledAt: null },
    });
  }
  return ctx.db.cluster.update({ where: { id: cluster.id }, data: also });
}
