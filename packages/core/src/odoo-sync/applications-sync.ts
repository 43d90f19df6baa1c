import { createHash } from "node:crypto";
import { formatOdooDatetime, isOdooError } from "@vwksp/odoo";
import { canonicalJson, DeployApplicationBody } from "@vwksp/protocol";
import type { Application, Cluster } from "../db.ts";
import { DomainError } from "../errors.ts";
import type { JobsService } from "../jobs/jobs.service.ts";
import { laterOf, odooActor, readRecord, recordPages, type SyncContext } from "./context.ts";
import type { ApplicationField, MappedFields, MappedFieldsSource } from "./model-maps.ts";
import { WITH_ARCHIVED } from "./odoo-client.ts";
import { emptyCounts, pullChanged } from "./pull.ts";
import { pushCluster } from "./push.ts";
import { type OdooRecord, OdooRecordRejected } from "./record-values.ts";
import { sameOdooValue } from "./runtime-fields.ts";
import { syncErrorChange, syncErrorText } from "./sync-error-field.ts";
import { noteRecordState } from "./take-record.ts";

/**
 * Workspace Hub's applications (ODOO_APPLICATION_MODEL), docs/odoo-integration.md. Odoo owns an
 * application's configuration (name, namespace, catalog entry, hostname, values, cluster,
 * active); this service owns its runtime (instance_id, state, reason, URL, ready since, chart
 * version, last job). A record without instance_id is a Deploy app request: it takes the admin
 * API's path (the same checks), and is answered with the instance_id or with `refused` and why.
 */
export interface AppSyncContext extends SyncContext {
  jobs: Pick<JobsService, "requestDeploy" | "requestDelete">;
  appModel: string;
  appFields: MappedFieldsSource<ApplicationField>;
}

type AppFields = MappedFields<ApplicationField>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const text = (value: unknown) => (typeof value === "string" ? value.trim() : "");
const value = (record: OdooRecord, fields: AppFields, logical: ApplicationField) => {
  const name = fields.name(logical);
  return name === undefined ? undefined : record[name];
};

/** A many2one read back as `[id, name]` (or a bare id with `load: null`, or `false`). */
function many2oneId(raw: unknown): number | undefined {
  if (Array.isArray(raw) && Number.isInteger(raw[0])) return raw[0] as number;
  if (Number.isInteger(raw)) return raw as number;
  return undefined;
}

/** What Odoo owns in the record; our runtime writes leave it alone, so reading them back changes nothing. */
function contentHash(record: OdooRecord, fields: AppFields): string {
  const owned: ApplicationField[] = [
    "instance_id",
    "name",
    "namespace",
    "catalog_entry",
    "hostname",
    "values",
    "active",
  ];
  const values = owned.map((logical) => [logical, value(record, fields, logical) ?? null]);
  values.push(["cluster_id", many2oneId(value(record, fields, "cluster_id")) ?? null]);
  return createHash("sha256").update(JSON.stringify(values)).digest("hex");
}

/** The URL once Ready (deployed) with ingress, which a hostname turns on; empty otherwise. */
export const applicationUrl = (app: Pick<Application, "state" | "hostname">) =>
  app.state === "deployed" && app.hostname ? `https://${app.hostname}` : undefined;

/** The runtime fields this service owns, as Odoo values (`false` is Odoo's empty). */
function runtimeValues(app: Application): Record<ApplicationField, unknown> {
  return {
    instance_id: app.id,
    state: app.state,
    state_reason: app.stateReason ?? false,
    url: applicationUrl(app) ?? false,
    ready_since: app.state === "deployed" && app.deployedAt ? formatOdooDatetime(app.deployedAt) : false,
    chart_version: app.chartVersion ?? false,
    last_job_id: app.lastJobId ?? false,
  } as Record<ApplicationField, unknown>;
}

export function applicationRuntimeChanges(fields: AppFields, app: Application, record?: OdooRecord) {
  const values: Record<string, unknown> = {};
  for (const [logical, ours] of Object.entries(runtimeValues(app)) as [ApplicationField, unknown][]) {
    const name = fields.name(logical);
    if (name === undefined) continue;
    if (!record || !sameOdooValue(ours, record[name])) values[name] = ours;
  }
  return values;
}

const appCtx = (ctx: AppSyncContext): SyncContext => ({ ...ctx, model: ctx.appModel });

// ---------------------------------------------------------------------------------------------
// Push

export type AppPushOutcome = "written" | "created" | "unchanged" | "removed" | "gone" | "unlinked";

async function findAppRecord(ctx: AppSyncContext, fields: AppFields, app: Application) {
  const idField = fields.name("instance_id") as string;
  const byId: unknown[] = [[idField, "=", app.id]];
  const domain = app.odooRecordId === null ? byId : ["|", ...byId, ["id", "=", app.odooRecordId]];
  const found = (await ctx.client.searchRead(ctx.appModel, domain, {
    fields: fields.readFields,
    limit: 2,
    context: WITH_ARCHIVED,
  })) as OdooRecord[];
  return (
    found.find((record) => record[idField] === app.id) ??
    found.find((record) => record.id === app.odooRecordId && !record[idField])
  );
}

/** An application deployed through the admin API: its record, with the configuration it was asked with. */
async function createAppRecord(ctx: AppSyncContext, fields: AppFields, app: Application, cluster: Cluster) {
  const config: Record<string, unknown> = {};
  const put = (logical: ApplicationField, odooValue: unknown) => {
    const name = fields.name(logical);
    if (name !== undefined) config[name] = odooValue;
  };
  put("name", app.name);
  put("namespace", app.namespace);
  put("catalog_entry", app.catalogId);
  put("hostname", app.hostname ?? false);
  put("values", app.values === null ? false : JSON.stringify(app.values));
  put("cluster_id", cluster.odooRecordId);
  try {
    return await ctx.client.create(ctx.appModel, { ...config, ...applicationRuntimeChanges(fields, app) });
  } catch (error) {
    // Another push created it meanwhile (the unique constraint on instance_id refused the twin).
    if (!isOdooError(error) || error.kind !== "validation") throw error;
    const record = await findAppRecord(ctx, fields, app);
    if (!record) throw error;
    return record.id;
  }
}

/**
 * Writes the application's runtime fields to its record, creating the record for an application
 * that never had one (deployed through the admin API). A record deleted in Odoo is not created
 * again. A non-retryable failure is kept on the application until a push succeeds.
 */
export async function pushApplication(ctx: AppSyncContext, applicationId: string): Promise<AppPushOutcome> {
  const app = await ctx.db.application.findUnique({ where: { id: applicationId } });
  if (!app) return "gone";
  let outcome: AppPushOutcome;
  let recordId: number | undefined;
  try {
    const fields = await ctx.appFields.get();
    const record = await findAppRecord(ctx, fields, app);
    if (!record) {
      if (app.odooRecordId !== null) return "removed";
      // Nothing to show for an application that is gone before Odoo ever heard of it.
      if (app.state === "deleted") return "unchanged";
      let cluster = await ctx.db.cluster.findUnique({ where: { id: app.clusterId } });
      if (cluster && cluster.odooRecordId === null && cluster.odooRemovedAt === null) {
        await pushCluster(ctx, cluster.id);
        cluster = await ctx.db.cluster.findUnique({ where: { id: app.clusterId } });
      }
      if (!cluster?.odooRecordId || cluster.odooRemovedAt !== null) return "unlinked";
      recordId = await createAppRecord(ctx, fields, app, cluster);
      outcome = "created";
    } else {
      recordId = record.id;
      const idField = fields.name("instance_id") as string;
      const state = await ctx.db.odooRecordState.findUnique({
        where: { model_odooId: { model: ctx.appModel, odooId: record.id } },
      });
      const values = {
        ...applicationRuntimeChanges(fields, app, record),
        ...(record[idField] ? {} : { [idField]: app.id }),
        ...(syncErrorChange(fields as never, record, [state?.error]) ?? {}),
      };
      if (Object.keys(values).length === 0) outcome = "unchanged";
      else {
        await ctx.client.write(ctx.appModel, [record.id], values);
        outcome = "written";
      }
    }
  } catch (error) {
    if ((error as { retryable?: unknown }).retryable === false) {
      const message = ((error as Error).message ?? String(error)).slice(0, 2000);
      await ctx.db.application.update({
        where: { id: app.id },
        data: {
          odooSyncError: message,
          odooSyncErrorAt: app.odooSyncError === message ? app.odooSyncErrorAt : ctx.clock.now(),
        },
      });
    }
    throw error;
  }
  await ctx.db.application.update({
    where: { id: app.id },
    data: {
      odooRecordId: recordId,
      odooPushedAt: ctx.clock.now(),
      odooSyncError: null,
      odooSyncErrorAt: null,
    },
  });
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Pull

function parseValues(raw: unknown, recordId: number): Record<string, unknown> | undefined {
  const source = text(raw);
  if (!source) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    throw new OdooRecordRejected(`record ${recordId}: values is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new OdooRecordRejected(`record ${recordId}: values must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** The deploy request the record makes, checked like POST /api/v1/clusters/{id}/applications's body. */
function deployBodyOf(record: OdooRecord, fields: AppFields): DeployApplicationBody {
  const hostname = text(value(record, fields, "hostname"));
  const values = parseValues(value(record, fields, "values"), record.id);
  const body = {
    catalogId: text(value(record, fields, "catalog_entry")),
    namespace: text(value(record, fields, "namespace")),
    name: text(value(record, fields, "name")),
    ...(hostname ? { hostname } : {}),
    ...(values ? { values } : {}),
  };
  const result = DeployApplicationBody.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? "");
    const odooName = { catalogId: "catalog_entry" }[field] ?? field;
    return `${fields.name(odooName as ApplicationField) ?? odooName} ${issue.message}`;
  });
  throw new OdooRecordRejected(`record ${record.id}: ${issues.join("; ")}`);
}

async function clusterOf(ctx: AppSyncContext, fields: AppFields, record: OdooRecord): Promise<Cluster> {
  const odooClusterId = many2oneId(value(record, fields, "cluster_id"));
  const field = fields.name("cluster_id");
  if (odooClusterId === undefined) throw new OdooRecordRejected(`record ${record.id}: ${field} is empty`);
  const cluster = await ctx.db.cluster.findFirst({
    where: { odooRecordId: odooClusterId, odooRemovedAt: null },
  });
  if (!cluster) {
    throw new OdooRecordRejected(
      `record ${record.id}: ${field} names ${ctx.model} record ${odooClusterId}, which is no cluster of the control plane`,
    );
  }
  return cluster;
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

type AppApplyOutcome = "created" | "updated" | "unchanged";

/** The domain's refusal (allow-lists, catalog, an unregistered cluster) as the record's reason. */
async function asRefusal<T>(recordId: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError && error.statusCode < 500) {
      throw new OdooRecordRejected(`record ${recordId}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * Applies one application record: a Deploy app request becomes a deploy (its instance_id written
 * back); a changed hostname, values or catalog entry a new generation; an archived record a
 * delete (unarchiving deploys again). Throws OdooRecordRejected for what only a change of the
 * record can fix.
 */
async function applyAppRecord(
  ctx: AppSyncContext,
  fields: AppFields,
  record: OdooRecord,
): Promise<{ outcome: AppApplyOutcome; applicationId?: string }> {
  const instanceId = text(value(record, fields, "instance_id"));
  const archived = value(record, fields, "active") === false;
  if (!instanceId) {
    // Taken on an earlier attempt whose write-back did not reach Odoo: the same application.
    const earlier = await ctx.db.application.findFirst({ where: { odooRecordId: record.id } });
    if (earlier) {
      await writeBack(ctx, fields, record, earlier.id);
      return { outcome: "created", applicationId: earlier.id };
    }
    if (archived) return { outcome: "unchanged" };
    const cluster = await clusterOf(ctx, fields, record);
    const body = deployBodyOf(record, fields);
    const existing = await ctx.db.application.findUnique({
      where: {
        clusterId_namespace_name: { clusterId: cluster.id, namespace: body.namespace, name: body.name },
      },
    });
    if (existing && existing.state !== "deleted" && existing.odooRecordId !== null) {
      throw new OdooRecordRejected(
        `record ${record.id}: ${body.namespace}/${body.name} already runs on this cluster (record ${existing.odooRecordId})`,
      );
    }
    await asRefusal(record.id, () =>
      ctx.jobs.requestDeploy(odooActor(cluster.organizationId), cluster.id, body, {
        odooRecordId: record.id,
      }),
    );
    const app = await ctx.db.application.findUniqueOrThrow({
      where: {
        clusterId_namespace_name: { clusterId: cluster.id, namespace: body.namespace, name: body.name },
      },
    });
    await writeBack(ctx, fields, record, app.id);
    return { outcome: "created", applicationId: app.id };
  }
  const app = UUID.test(instanceId)
    ? await ctx.db.application.findUnique({ where: { id: instanceId } })
    : null;
  if (!app) {
    throw new OdooRecordRejected(
      `record ${record.id}: instance_id ${instanceId} is unknown to the control plane`,
    );
  }
  if (app.odooRecordId !== record.id) {
    await ctx.db.application.update({ where: { id: app.id }, data: { odooRecordId: record.id } });
  }
  const cluster = await ctx.db.cluster.findUniqueOrThrow({ where: { id: app.clusterId } });
  const actor = odooActor(cluster.organizationId);
  const gone = app.state === "deleting" || app.state === "deleted";
  if (archived) {
    if (gone) return { outcome: "unchanged", applicationId: app.id };
    await asRefusal(record.id, () => ctx.jobs.requestDelete(actor, cluster.id, app.namespace, app.name));
    return { outcome: "updated", applicationId: app.id };
  }
  const body = deployBodyOf(record, fields);
  const recordCluster = many2oneId(value(record, fields, "cluster_id"));
  if (body.namespace !== app.namespace || body.name !== app.name || recordCluster !== cluster.odooRecordId) {
    throw new OdooRecordRejected(
      `record ${record.id}: an application's cluster, namespace and name do not change; archive this record and create another`,
    );
  }
  const changed =
    body.catalogId !== app.catalogId ||
    (body.hostname ?? null) !== (app.hostname ?? null) ||
    !sameJson(body.values, app.values);
  if (!changed && !gone) return { outcome: "unchanged", applicationId: app.id };
  await asRefusal(record.id, () =>
    ctx.jobs.requestDeploy(actor, cluster.id, body, { odooRecordId: record.id }),
  );
  return { outcome: "updated", applicationId: app.id };
}

/** The instance_id on a new record, with the runtime fields as they are now. */
async function writeBack(ctx: AppSyncContext, fields: AppFields, record: OdooRecord, applicationId: string) {
  const app = await ctx.db.application.findUniqueOrThrow({ where: { id: applicationId } });
  const values = applicationRuntimeChanges(fields, app, record);
  const reason = fields.name("state_reason");
  if (reason && !(reason in values) && record[reason]) values[reason] = false;
  if (Object.keys(values).length > 0) await ctx.client.write(ctx.appModel, [record.id], values);
  await ctx.db.application.update({ where: { id: app.id }, data: { odooRecordId: record.id } });
}

export type AppTakeOutcome = AppApplyOutcome | "rejected" | "seen";

/**
 * Takes one application record; the same content is taken once (the pull's overlap reads it
 * again), unless `thorough`. A refused Deploy app request is answered on the record: state
 * `refused`, the reason in state_reason (and sync_error).
 */
export async function takeAppRecord(
  ctx: AppSyncContext,
  fields: AppFields,
  record: OdooRecord,
  { thorough }: { thorough: boolean },
): Promise<{ outcome: AppTakeOutcome; applicationId?: string }> {
  const hash = contentHash(record, fields);
  const key = { model_odooId: { model: ctx.appModel, odooId: record.id } };
  const state = await ctx.db.odooRecordState.findUnique({ where: key });
  if (!thorough && state?.contentHash === hash) return { outcome: "seen" };
  let taken: { outcome: AppTakeOutcome; applicationId?: string };
  let error: string | null = null;
  try {
    taken = await applyAppRecord(ctx, fields, record);
  } catch (thrown) {
    if (thrown instanceof OdooRecordRejected) error = thrown.message;
    else if (isOdooError(thrown) && !thrown.retryable)
      error = `Odoo refused the bridge's write: ${thrown.message}`;
    else throw thrown;
    taken = { outcome: "rejected" };
  }
  await noteRecordState(appCtx(ctx), record, state, hash, error);
  if (error !== null) await showRefusal(ctx, fields, record, error);
  else {
    const change = syncErrorChange(fields as never, record, []);
    if (change) await ctx.client.write(ctx.appModel, [record.id], change).catch(() => undefined);
  }
  return taken;
}

async function showRefusal(ctx: AppSyncContext, fields: AppFields, record: OdooRecord, error: string) {
  const values: Record<string, unknown> = {};
  const isRequest = !text(value(record, fields, "instance_id"));
  const put = (logical: ApplicationField, wanted: unknown) => {
    const name = fields.name(logical);
    if (name !== undefined && !sameOdooValue(wanted, record[name])) values[name] = wanted;
  };
  if (isRequest) {
    put("state", "refused");
    put("state_reason", error);
  }
  put("sync_error", syncErrorText([error]));
  if (Object.keys(values).length > 0) {
    await ctx.client.write(ctx.appModel, [record.id], values).catch(() => undefined);
  }
}

/** Same cursor rules as the clusters' pull (pull.ts): from the cursor minus the overlap. */
export async function pullApplications(ctx: AppSyncContext, overlapSeconds: number) {
  const fields = await ctx.appFields.get();
  return pullChanged(appCtx(ctx), overlapSeconds, fields, (record) =>
    takeAppRecord(ctx, fields, record, { thorough: false }),
  );
}

/** One record at once (Odoo's webhook on the application model). */
export async function pullApplicationRecord(ctx: AppSyncContext, odooId: number) {
  const fields = await ctx.appFields.get();
  const record = await readRecord(appCtx(ctx), fields, odooId);
  if (!record) return "gone" as const;
  return (await takeAppRecord(ctx, fields, record, { thorough: false })).outcome;
}

/**
 * Every application record taken again, and every application whose record is missing or shows
 * other runtime values pushed: what an error or an outage stopped is redone here.
 */
export async function reconcileApplications(ctx: AppSyncContext) {
  const fields = await ctx.appFields.get();
  const counts = { ...emptyCounts(), pushed: 0, pushFailed: 0 };
  const recordOf = new Map<string, OdooRecord>();
  let newest: string | null = null;
  for await (const page of recordPages(appCtx(ctx), fields, [])) {
    for (const record of page) {
      const taken = await takeAppRecord(ctx, fields, record, { thorough: true });
      counts[taken.outcome] += 1;
      if (taken.applicationId) recordOf.set(taken.applicationId, record);
      newest = laterOf(newest, record.write_date);
    }
  }
  let after: string | undefined;
  for (;;) {
    const apps = await ctx.db.application.findMany({
      where: after ? { id: { gt: after } } : {},
      orderBy: { id: "asc" },
      take: 500,
    });
    for (const app of apps) {
      const record = recordOf.get(app.id);
      if (!record && app.odooRecordId !== null) continue; // deleted in Odoo: not created again
      if (!record && app.state === "deleted") continue;
      const inStep =
        record !== undefined &&
        app.odooSyncError === null &&
        Object.keys(applicationRuntimeChanges(fields, app, record)).length === 0;
      if (inStep) continue;
      try {
        await pushApplication(ctx, app.id);
        counts.pushed += 1;
      } catch (error) {
        if (isOdooError(error) && !error.retryable) counts.pushFailed += 1;
        else throw error;
      }
    }
    if (apps.length < 500) break;
    after = apps.at(-1)?.id;
  }
  const now = ctx.clock.now();
  const state = await ctx.db.odooCursor.findUnique({ where: { model: ctx.appModel } });
  await ctx.db.odooCursor.upsert({
    where: { model: ctx.appModel },
    create: { model: ctx.appModel, cursor: newest, lastReconcileAt: now },
    update: { cursor: state?.cursor ?? newest, lastReconcileAt: now },
  });
  return counts;
}

export { appCtx };
