import type { OdooStatus } from "@vwksp/protocol";
import type { Db } from "../db.ts";
import { SYNC_STATE_ID } from "./model-fields.ts";
import { toOdooStatus } from "./odoo-sync.dto.ts";

const LISTED = 100;

/**
 * Where the bridge stands per model (cursor, last pull and reconciliation) and which records do
 * not sync and why: Odoo records refused here, clusters whose push Odoo refused. Kept until the
 * record (or cluster) syncs.
 */
export async function readOdooSyncDetails(db: Db) {
  const [
    cursors,
    refusedRecords,
    refusedPushes,
    recordErrorCount,
    pushErrorCount,
    pendingEvents,
    refusedApps,
  ] = await Promise.all([
    db.odooCursor.findMany({ orderBy: { model: "asc" } }),
    db.odooRecordState.findMany({
      where: { error: { not: null } },
      orderBy: { errorAt: "desc" },
      take: LISTED,
    }),
    db.cluster.findMany({
      where: { odooSyncError: { not: null } },
      orderBy: { odooSyncErrorAt: "desc" },
      take: LISTED,
      select: { id: true, odooRecordId: true, odooSyncError: true, odooSyncErrorAt: true },
    }),
    db.odooRecordState.count({ where: { error: { not: null } } }),
    db.cluster.count({ where: { odooSyncError: { not: null } } }),
    db.outboxEvent.count({ where: { odooDoneAt: null } }),
    db.application.findMany({
      where: { odooSyncError: { not: null } },
      orderBy: { odooSyncErrorAt: "desc" },
      take: LISTED,
      select: { id: true, clusterId: true, odooRecordId: true, odooSyncError: true, odooSyncErrorAt: true },
    }),
  ]);
  const recordErrors = [
    ...refusedRecords.map((row) => ({
      direction: "pull" as const,
      model: row.model,
      odooId: row.odooId,
      clusterId: null,
      message: row.error ?? "",
      since: row.errorAt,
    })),
    ...refusedPushes.map((row) => ({
      direction: "push" as const,
      model: null,
      odooId: row.odooRecordId,
      clusterId: row.id,
      message: row.odooSyncError ?? "",
      since: row.odooSyncErrorAt,
    })),
    ...refusedApps.map((row) => ({
      direction: "push" as const,
      model: "application",
      odooId: row.odooRecordId,
      clusterId: row.clusterId,
      message: `application ${row.id}: ${row.odooSyncError ?? ""}`,
      since: row.odooSyncErrorAt,
    })),
  ].sort((a, b) => (b.since?.getTime() ?? 0) - (a.since?.getTime() ?? 0));
  return {
    cursors,
    recordErrors: recordErrors.slice(0, LISTED),
    recordErrorCount: recordErrorCount + pushErrorCount + refusedApps.length,
    pendingEvents,
  };
}

export type OdooSyncDetails = Awaited<ReturnType<typeof readOdooSyncDetails>>;

/**
 * The bridge's status for the admin API (GET /api/v1/odoo/status): the sync state row, the
 * details above, and the sync jobs still to run — counted by the caller's `pendingSyncJobs`
 * (the queue lives outside core), asked only while the bridge is on.
 */
export function createOdooStatusReader(deps: {
  db: Db;
  /** ODOO_URL is set. */
  enabled: boolean;
  /** ODOO_PROTOCOL. */
  configuredProtocol: string;
  /** Sync jobs waiting, delayed (backing off) or running. */
  pendingSyncJobs: () => Promise<number>;
}) {
  const { db, enabled } = deps;
  async function readOdooStatus(): Promise<OdooStatus> {
    const [state, details] = await Promise.all([
      db.odooSyncState.findUnique({ where: { id: SYNC_STATE_ID } }),
      readOdooSyncDetails(db),
    ]);
    const pending = enabled ? await deps.pendingSyncJobs() : 0;
    return toOdooStatus({ enabled, configuredProtocol: deps.configuredProtocol, state, details, pending });
  }
  return { readOdooStatus };
}

export type OdooStatusReader = ReturnType<typeof createOdooStatusReader>;
