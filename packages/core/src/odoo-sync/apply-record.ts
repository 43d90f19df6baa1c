import { CreateClusterBody, UpdateClusterBody } from "@vwksp/protocol";
import type { z } from "zod";
import type { Cluster } from "../db.ts";
import { ensureDefaultOrganization } from "../organizations/organizations.repo.ts";
import { odooActor, type SyncContext } from "./context.ts";
import { followArchive, relink } from "./lifecycle.ts";
import type { ModelFields } from "./model-fields.ts";
import {
  clusterIdOf,
  configOf,
  isArchived,
  type OdooRecord,
  OdooRecordRejected,
  organizationSlugOf,
} from "./record-values.ts";

export type ApplyOutcome = "created" | "updated" | "unchanged";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parsed<S extends z.ZodType>(schema: S, value: unknown, recordId: number): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
  throw new OdooRecordRejected(`record ${recordId}: ${issues.join("; ")}`);
}

/**
 * Applies one Odoo record here: a record without cluster_id becomes a new cluster (its UUID
 * written back), one with cluster_id updates that cluster's configuration. Throws
 * OdooRecordRejected for what only a change of the record can fix.
 */
export async function applyRecord(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
): Promise<{ outcome: ApplyOutcome; cluster: Cluster }> {
  const { settings, problems } = configOf(record, fields);
  if (problems.length > 0) throw new OdooRecordRejected(`record ${record.id}: ${problems.join("; ")}`);
  const clusterId = clusterIdOf(record, fields);
  if (!clusterId) return createFromRecord(ctx, fields, record, settings);
  const known = UUID.test(clusterId) ? await ctx.db.cluster.findUnique({ where: { id: clusterId } }) : null;
  if (!known) {
    throw new OdooRecordRejected(
      `record ${record.id}: cluster_id ${clusterId} is unknown to the control plane`,
    );
  }
  await requireSameOrganization(ctx, fields, record, known);
  const changes = parsed(UpdateClusterBody, settings, record.id);
  const archived = isArchived(record, fields);
  let cluster = known;
  if (cluster.odooRemovedAt !== null) cluster = await relink(ctx, cluster, record.id, archived);
  else if (cluster.odooRecordId !== record.id) {
    cluster = await ctx.db.cluster.update({ where: { id: cluster.id }, data: { odooRecordId: record.id } });
  }
  const before = cluster.updatedAt.getTime();
  cluster = await ctx.clusters.update(odooActor(cluster.organizationId), cluster.id, changes, "system");
  const outcome = cluster.updatedAt.getTime() === before ? "unchanged" : "updated";
  await writeBackIdentity(ctx, fields, record, cluster, false);
  return { outcome, cluster: await followArchive(ctx, cluster, archived) };
}

async function createFromRecord(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
  settings: Record<string, unknown>,
): Promise<{ outcome: ApplyOutcome; cluster: Cluster }> {
  // Created on an earlier attempt whose write-back did not reach Odoo: the same cluster, no twin.
  let cluster = await ctx.db.cluster.findFirst({ where: { odooRecordId: record.id, odooRemovedAt: null } });
  if (!cluster) {
    const organizationId = await organizationFor(ctx, fields, record);
    const input = parsed(CreateClusterBody, settings, record.id);
    cluster = await ctx.clusters.create(odooActor(organizationId), input, "system", {
      odooRecordId: record.id,
    });
  }
  await writeBackIdentity(ctx, fields, record, cluster, true);
  return { outcome: "created", cluster: await followArchive(ctx, cluster, isArchived(record, fields)) };
}

/** The UUID on a new record, and our slug where Odoo's is empty (a cluster always has one). */
async function writeBackIdentity(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
  cluster: Cluster,
  isNew: boolean,
) {
  const values: Record<string, unknown> = {};
  const idField = fields.name("cluster_id");
  const slugField = fields.name("slug");
  if (isNew && idField) values[idField] = cluster.id;
  if (slugField && !(typeof record[slugField] === "string" && record[slugField].trim())) {
    values[slugField] = cluster.slug;
  }
  if (Object.keys(values).length > 0) await ctx.client.write(ctx.model, [record.id], values);
}

/** ODOO_ORGANIZATION_FIELD carries an organization's slug; without it, the default organization. */
async function organizationFor(ctx: SyncContext, fields: ModelFields, record: OdooRecord): Promise<string> {
  const slug = organizationSlugOf(record, fields);
  if (slug === undefined) return (await ensureDefaultOrganization(ctx.db)).id;
  const field = fields.name("organization");
  if (!slug) throw new OdooRecordRejected(`record ${record.id}: ${field} is empty (the organization's slug)`);
  const organization = await ctx.db.organization.findUnique({ where: { slug } });
  if (!organization) {
    throw new OdooRecordRejected(
      `record ${record.id}: ${field} names organization "${slug}", which does not exist here (POST /api/v1/organizations)`,
    );
  }
  return organization.id;
}

/** A cluster stays in its organization: moving it would hand it to other API keys. */
async function requireSameOrganization(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
  cluster: Cluster,
) {
  const slug = organizationSlugOf(record, fields);
  if (!slug) return;
  const current = await ctx.db.organization.findUnique({ where: { id: cluster.organizationId } });
  if (current?.slug === slug) return;
  throw new OdooRecordRejected(
    `record ${record.id}: ${fields.name("organization")} names organization "${slug}", but the cluster belongs to "${current?.slug ?? cluster.organizationId}"; moving a cluster to another organization is not supported`,
  );
}
