import { formatOdooDatetime, isOdooError, type OdooError } from "@vwksp/odoo";
import { CreateClusterBody, UpdateClusterBody } from "@vwksp/protocol";
import type { Clock } from "../clock.ts";
import type { ClustersService } from "../clusters/clusters.service.ts";
import type { Cluster, Db } from "../db.ts";
import { clusterHealthOf } from "../health/cluster-health.ts";
import { ensureDefaultOrganization } from "../organizations/organizations.repo.ts";
import { type FieldMap, listToText, textToList } from "./field-map.ts";

/** The slice of the Odoo client the bridge uses (see packages/odoo). */
export interface OdooClientLike {
  protocol(): Promise<"jsonrpc" | "json2">;
  version(): Promise<{ server_version?: string; server_version_info?: unknown[] }>;
  searchRead(
    model: string,
    domain: unknown[],
    options?: { fields?: string[]; limit?: number; order?: string },
  ): Promise<Record<string, unknown>[]>;
  read(model: string, ids: number[], options?: { fields?: string[] }): Promise<Record<string, unknown>[]>;
  create(model: string, vals: Record<string, unknown>): Promise<number>;
  write(model: string, ids: number[], vals: Record<string, unknown>): Promise<true>;
}

interface Deps {
  db: Db;
  clock: Clock;
  clusters: ClustersService;
  client: OdooClientLike;
  model: string;
  fields: FieldMap;
  /** Records read per pull; a full page triggers an immediate catch-up pull. */
  pageSize?: number;
}

export const SYNC_STATE_ID = "default";
const ODOO_ACTOR = "odoo";

/** A record Odoo holds that cannot be applied here (bad values); recorded, never retried. */
export class OdooRecordRejected extends Error {
  override readonly name = "OdooRecordRejected";
}

/**
 * Keeps Odoo's Cluster Registry and this service's registry in step. Push writes the runtime
 * fields of one cluster (creating the record when missing); pull applies the configuration
 * fields of records changed since the cursor. Our own writes touch runtime fields only, so when
 * a pull reads them back the configuration compares equal and nothing bounces.
 */
export function createOdooSyncService({ db, clock, clusters, client, model, fields, pageSize = 200 }: Deps) {
  const f = (logical: keyof FieldMap) => fields[logical];
  const readFields = [
    ...new Set(["id", "write_date", ...Object.values(fields).filter((name): name is string => !!name)]),
  ];

  async function syncState() {
    return db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID },
      update: {},
    });
  }

  async function noteServer() {
    const [protocol, version] = await Promise.all([client.protocol(), client.version()]);
    await db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID, protocol, serverVersion: version.server_version ?? null },
      update: { protocol, serverVersion: version.server_version ?? null },
    });
  }

  function runtimeValues(cluster: Cluster): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    const put = (logical: keyof FieldMap, value: unknown) => {
      const name = f(logical);
      if (name) values[name] = value;
    };
    put("state", cluster.status);
    put("last_heartbeat", cluster.lastHeartbeatAt ? formatOdooDatetime(cluster.lastHeartbeatAt) : false);
    put("operator_version", cluster.operatorVersion ?? false);
    put("flux_version", cluster.fluxVersion ?? false);
    put("velero_version", cluster.veleroVersion ?? false);
    put("health_message", clusterHealthOf(cluster).healthMessage ?? false);
    return values;
  }

  function configValues(cluster: Cluster): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    const put = (logical: keyof FieldMap, value: unknown) => {
      const name = f(logical);
      if (name) values[name] = value;
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

  async function findRecordId(cluster: Cluster): Promise<number | null> {
    const idField = f("cluster_id");
    if (!idField) return cluster.odooRecordId;
    const found = await client.searchRead(model, [[idField, "=", cluster.id]], { fields: ["id"], limit: 1 });
    const id = found[0]?.id;
    return typeof id === "number" ? id : null;
  }

  /** Writes the cluster's runtime fields to its Odoo record, creating the record when missing. */
  async function pushCluster(clusterId: string): Promise<"written" | "created" | "gone"> {
    const cluster = await db.cluster.findUnique({ where: { id: clusterId } });
    if (!cluster) return "gone";
    await noteServer();
    let recordId = cluster.odooRecordId ?? (await findRecordId(cluster));
    let outcome: "written" | "created" = "written";
    if (recordId !== null) {
      try {
        await client.write(model, [recordId], runtimeValues(cluster));
      } catch (error) {
        // The record was deleted in Odoo since we last saw it: find or create it again.
        if (!(isOdooError(error) && (error as OdooError).kind === "missing")) throw error;
        recordId = await findRecordId({ ...cluster, odooRecordId: null });
        if (recordId !== null) await client.write(model, [recordId], runtimeValues(cluster));
      }
    }
    if (recordId === null) {
      recordId = await client.create(model, { ...configValues(cluster), ...runtimeValues(cluster) });
      outcome = "created";
    }
    const now = clock.now();
    await db.cluster.update({
      where: { id: clusterId },
      data: { odooRecordId: recordId, odooPushedAt: now },
    });
    await db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID, lastPushAt: now },
      // A success means Odoo is reachable again: the last error no longer describes the bridge.
      update: { lastPushAt: now, lastError: null, lastErrorAt: null },
    });
    return outcome;
  }

  /** Configuration fields of an Odoo record as an update of our cluster (only what Odoo set). */
  function configFromRecord(record: Record<string, unknown>) {
    const text = (logical: keyof FieldMap) => {
      const name = f(logical);
      const value = name ? record[name] : undefined;
      return typeof value === "string" && value.trim() ? value.trim() : undefined;
    };
    const list = (logical: keyof FieldMap) => {
      const name = f(logical);
      return name ? textToList(record[name]) : undefined;
    };
    const raw = {
      displayName: text("name"),
      slug: text("slug"),
      connectivityMode: text("connectivity_mode"),
      allowedNamespaces: list("allowed_namespaces"),
      allowedCatalogEntries: list("allowed_catalog_entries"),
      allowedOperationTemplates: list("allowed_operation_templates"),
    };
    return Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined));
  }

  /** Applies one Odoo record here: a new identity (UUID written back) or a configuration update. */
  async function applyRecord(record: Record<string, unknown>): Promise<"created" | "updated" | "unchanged"> {
    const recordId = record.id as number;
    const idField = f("cluster_id");
    const clusterId =
      idField && typeof record[idField] === "string" ? (record[idField] as string).trim() : "";
    const config = configFromRecord(record);
    if (!clusterId) {
      const parsed = CreateClusterBody.safeParse({ displayName: `Odoo cluster ${recordId}`, ...config });
      if (!parsed.success)
        throw new OdooRecordRejected(
          `record ${recordId}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
        );
      const organization = await ensureDefaultOrganization(db);
      // The record id is stored with the cluster, so the push that follows cannot create a twin.
      const cluster = await clusters.create(
        { id: ODOO_ACTOR, organizationId: organization.id },
        parsed.data,
        "system",
        {
          odooRecordId: recordId,
        },
      );
      await client.write(model, [recordId], {
        ...(idField ? { [idField]: cluster.id } : {}),
        ...(f("slug") && !config.slug ? { [f("slug") as string]: cluster.slug } : {}),
      });
      return "created";
    }
    const cluster = await db.cluster.findUnique({ where: { id: clusterId } });
    if (!cluster)
      throw new OdooRecordRejected(
        `record ${recordId}: cluster_id ${clusterId} is unknown to the control plane`,
      );
    const parsed = UpdateClusterBody.safeParse(config);
    if (!parsed.success)
      throw new OdooRecordRejected(
        `record ${recordId}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
      );
    if (cluster.odooRecordId !== recordId)
      await db.cluster.update({ where: { id: clusterId }, data: { odooRecordId: recordId } });
    const before = cluster.updatedAt.getTime();
    const after = await clusters.update(
      { id: ODOO_ACTOR, organizationId: cluster.organizationId },
      clusterId,
      parsed.data,
      "system",
    );
    return after.updatedAt.getTime() === before ? "unchanged" : "updated";
  }

  /**
   * Reads records changed since the cursor. `write_date` has one-second resolution, so the
   * domain uses >= and skips the ids already seen at the cursor second.
   */
  async function pull(): Promise<{ applied: number; rejected: string[]; more: boolean }> {
    await noteServer();
    const state = await syncState();
    const domain = state.pullCursor ? [["write_date", ">=", state.pullCursor]] : [];
    const records = await client.searchRead(model, domain, {
      fields: readFields,
      order: "write_date asc, id asc",
      limit: pageSize,
    });
    const seen = new Set(state.seenAtCursor);
    let cursor = state.pullCursor;
    let seenAtCursor = [...state.seenAtCursor];
    let applied = 0;
    const rejected: string[] = [];
    for (const record of records) {
      const writeDate = String(record.write_date ?? "");
      const id = record.id as number;
      if (writeDate === state.pullCursor && seen.has(id)) continue;
      try {
        if ((await applyRecord(record)) !== "unchanged") applied += 1;
      } catch (error) {
        if (!(error instanceof OdooRecordRejected)) throw error;
        rejected.push(error.message);
      }
      if (writeDate !== cursor) {
        cursor = writeDate;
        seenAtCursor = [];
      }
      seenAtCursor.push(id);
    }
    const now = clock.now();
    await db.odooSyncState.update({
      where: { id: SYNC_STATE_ID },
      data: {
        pullCursor: cursor,
        seenAtCursor,
        lastPullAt: now,
        ...(rejected.length > 0
          ? { lastError: rejected.join("\n").slice(0, 4000), lastErrorAt: now }
          : { lastError: null, lastErrorAt: null }),
      },
    });
    return { applied, rejected, more: records.length === pageSize };
  }

  /** Applies one record at once (the Odoo webhook), without moving the pull cursor. */
  async function pullRecord(odooId: number) {
    const [record] = await client.read(model, [odooId], { fields: readFields });
    if (!record) return "gone" as const;
    return applyRecord(record);
  }

  async function recordError(message: string) {
    const now = clock.now();
    await db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID, lastError: message, lastErrorAt: now },
      update: { lastError: message, lastErrorAt: now },
    });
  }

  return { pushCluster, pull, pullRecord, recordError };
}

export type OdooSyncService = ReturnType<typeof createOdooSyncService>;
