import { isOdooError } from "@vwksp/odoo";
import type { Cluster } from "../db.ts";
import type { SyncContext } from "./context.ts";
import { listToText } from "./field-map.ts";
import { markRemoved } from "./lifecycle.ts";
import { type ModelFields, SYNC_STATE_ID } from "./model-fields.ts";
import { WITH_ARCHIVED } from "./odoo-client.ts";
import type { OdooRecord } from "./record-values.ts";
import { RUNTIME_FIELDS, sameOdooValue } from "./runtime-fields.ts";
import { showSyncError, syncErrorChange } from "./sync-error-field.ts";

export type PushOutcome = "written" | "created" | "unchanged" | "removed" | "gone";

/** Runtime values of the cluster that the record does not show yet (all of them for a new record). */
export function runtimeChanges(fields: ModelFields, cluster: Cluster, record?: OdooRecord) {
  const values: Record<string, unknown> = {};
  for (const { logical, value } of RUNTIME_FIELDS) {
    const name = fields.name(logical);
    if (name === undefined) continue;
    const ours = value(cluster);
    if (!record || !sameOdooValue(ours, record[name])) values[name] = ours;
  }
  return values;
}

function configValues(fields: ModelFields, cluster: Cluster) {
  const values: Record<string, unknown> = {};
  const put = (logical: Parameters<ModelFields["name"]>[0], value: unknown) => {
    const name = fields.name(logical);
    if (name !== undefined) values[name] = value;
  };
  put("cluster_id", cluster.id);
  put("name", cluster.displayName);
  put("slug", cluster.slug);
  put("connectivity_mode", cluster.connectivityMode);
  put("allowed_namespaces", listToText(cluster.allowedNamespaces));
  put("allowed_catalog_entries", listToText(cluster.allowedCatalogEntries));
  put("allowed_operation_templates", listToText(cluster.allowedOperationTemplates));
  return values;
}

/**
 * The cluster's record: searched by cluster_id (and by the record id we know, in case someone
 * emptied cluster_id), archived ones included, rather than trusting a write's `true`, which Odoo
 * 17 also answers for a record that was deleted.
 */
async function findRecord(ctx: SyncContext, fields: ModelFields, cluster: Cluster) {
  const idField = fields.name("cluster_id") as string;
  const byId: unknown[] = [[idField, "=", cluster.id]];
  const domain = cluster.odooRecordId === null ? byId : ["|", ...byId, ["id", "=", cluster.odooRecordId]];
  const names = [idField, ...Object.keys(runtimeChanges(fields, cluster)), fields.name("sync_error")];
  const found = (await ctx.client.searchRead(ctx.model, domain, {
    fields: names.filter((name): name is string => name !== undefined),
    limit: 2,
    context: WITH_ARCHIVED,
  })) as OdooRecord[];
  return (
    found.find((record) => record[idField] === cluster.id) ??
    found.find((record) => record.id === cluster.odooRecordId && !record[idField])
  );
}

async function createRecord(ctx: SyncContext, fields: ModelFields, cluster: Cluster): Promise<number> {
  try {
    return await ctx.client.create(ctx.model, {
      ...configValues(fields, cluster),
      ...runtimeChanges(fields, cluster),
    });
  } catch (error) {
    // Another push created it meanwhile; Odoo's unique constraint on cluster_id refused the twin.
    if (!isOdooError(error) || error.kind !== "validation") throw error;
    const record = await findRecord(ctx, fields, cluster);
    if (!record) throw error;
    await ctx.client.write(ctx.model, [record.id], runtimeChanges(fields, cluster));
    return record.id;
  }
}

type PushResult = { outcome: "removed" } | { outcome: "created" | "written" | "unchanged"; recordId: number };

async function pushOnce(ctx: SyncContext, fields: ModelFields, cluster: Cluster): Promise<PushResult> {
  const record = await findRecord(ctx, fields, cluster);
  if (!record) {
    // Deleted in Odoo: never created again (docs/odoo-integration.md).
    if (cluster.odooRecordId !== null) return { outcome: "removed" };
    return { outcome: "created", recordId: await createRecord(ctx, fields, cluster) };
  }
  const idField = fields.name("cluster_id") as string;
  const state = await ctx.db.odooRecordState.findUnique({
    where: { model_odooId: { model: ctx.model, odooId: record.id } },
  });
  const values = {
    ...runtimeChanges(fields, cluster, record),
    ...(record[idField] ? {} : { [idField]: cluster.id }),
    ...syncErrorChange(fields, record, [state?.error]),
  };
  if (Object.keys(values).length === 0) return { outcome: "unchanged", recordId: record.id };
  try {
    await ctx.client.write(ctx.model, [record.id], values);
  } catch (error) {
    // Odoo 19: deleted between the search and the write.
    if (isOdooError(error) && error.kind === "missing") return { outcome: "removed" };
    throw error;
  }
  return { outcome: "written", recordId: record.id };
}

/**
 * Writes the cluster's runtime fields to its Odoo record, creating the record when it never had
 * one. A non-retryable failure is kept on the cluster until a push succeeds (and shown on the
 * record's sync_error); the caller decides about retrying.
 */
export async function pushCluster(ctx: SyncContext, clusterId: string): Promise<PushOutcome> {
  const cluster = await ctx.db.cluster.findUnique({ where: { id: clusterId } });
  if (!cluster) return "gone";
  if (cluster.odooRemovedAt !== null) return "removed";
  let fields: ModelFields | undefined;
  let result: PushResult;
  try {
    fields = await ctx.modelFields.get();
    result = await pushOnce(ctx, fields, cluster);
  } catch (error) {
    // An outage is retried; anything else (a wrong key, a refused value) is kept on the cluster.
    if ((error as { retryable?: unknown }).retryable === false) {
      await keepPushError(ctx, fields, cluster, (error as Error).message);
    }
    throw error;
  }
  if (result.outcome === "removed") {
    await markRemoved(ctx, cluster);
    return "removed";
  }
  const now = ctx.clock.now();
  await ctx.db.cluster.update({
    where: { id: clusterId },
    data: { odooRecordId: result.recordId, odooPushedAt: now, odooSyncError: null, odooSyncErrorAt: null },
  });
  await ctx.db.odooSyncState.upsert({
    where: { id: SYNC_STATE_ID },
    create: { id: SYNC_STATE_ID, lastPushAt: now },
    update: { lastPushAt: now },
  });
  return result.outcome;
}

async function keepPushError(
  ctx: SyncContext,
  fields: ModelFields | undefined,
  cluster: Cluster,
  message: string,
) {
  const error = message.slice(0, 2000);
  const since = cluster.odooSyncError === error ? cluster.odooSyncErrorAt : ctx.clock.now();
  await ctx.db.cluster.update({
    where: { id: cluster.id },
    data: { odooSyncError: error, odooSyncErrorAt: since },
  });
  if (cluster.odooRecordId === null || fields === undefined) return;
  const state = await ctx.db.odooRecordState.findUnique({
    where: { model_odooId: { model: ctx.model, odooId: cluster.odooRecordId } },
  });
  // The record's current sync_error is unknown here; writing it again is harmless.
  await showSyncError(ctx, fields, { id: cluster.odooRecordId }, [state?.error, message]);
}
