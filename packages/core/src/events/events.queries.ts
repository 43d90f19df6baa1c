import type { Condition } from "@vwksp/protocol";
import { requireClusterOfOrganization as requireCluster } from "../clusters/cluster-of-organization.ts";
import type { Db, Prisma } from "../db.ts";
import { badRequest } from "../errors.ts";

function idCursor(cursor: string | undefined): bigint | undefined {
  if (!cursor) return undefined;
  if (!/^\d{1,19}$/.test(cursor)) throw badRequest("invalid_cursor", "cursor is not valid");
  return BigInt(cursor);
}

/** Newest first by id; the cursor is the last id seen. */
function page<T extends { id: bigint }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? String(last.id) : null };
}

/** Read side of events, resource status and audit for the admin API. */
export function createEventQueries({ db }: { db: Db }) {
  async function listEvents(
    organizationId: string,
    clusterId: string,
    query: {
      kind?: string | undefined;
      resourceName?: string | undefined;
      since?: string | undefined;
      limit: number;
      cursor?: string | undefined;
    },
  ) {
    await requireCluster(db, organizationId, clusterId);
    const before = idCursor(query.cursor);
    const rows = await db.agentEvent.findMany({
      where: {
        clusterId,
        ...(query.kind ? { kind: query.kind } : {}),
        ...(query.resourceName ? { resourceName: query.resourceName } : {}),
        ...(query.since ? { receivedAt: { gte: new Date(query.since) } } : {}),
        ...(before !== undefined ? { id: { lt: before } } : {}),
      },
      orderBy: { id: "desc" },
      take: query.limit + 1,
    });
    return page(rows, query.limit);
  }

  async function listResources(organizationId: string, clusterId: string) {
    await requireCluster(db, organizationId, clusterId);
    const rows = await db.resourceStatus.findMany({
      where: { clusterId },
      orderBy: [{ kind: "asc" }, { namespace: "asc" }, { name: "asc" }],
      take: 5000,
    });
    return rows.map((row) => {
      const conditions = row.conditions as Condition[];
      return { ...row, conditions, ready: conditions.some((c) => c.type === "Ready" && c.status === "True") };
    });
  }

  /** Deleted applications are kept for the audit trail and listed only when asked for. */
  async function listApplications(organizationId: string, clusterId: string, includeDeleted = false) {
    await requireCluster(db, organizationId, clusterId);
    return db.application.findMany({
      where: { clusterId, ...(includeDeleted ? {} : { state: { not: "deleted" } }) },
      orderBy: [{ namespace: "asc" }, { name: "asc" }],
      take: 5000,
    });
  }

  async function listAudit(
    organizationId: string,
    query: {
      clusterId?: string | undefined;
      source?: "user" | "agent" | "system" | undefined;
      kind?: string | undefined;
      since?: string | undefined;
      limit: number;
      cursor?: string | undefined;
    },
  ) {
    const before = idCursor(query.cursor);
    const where: Prisma.AuditEntryWhereInput = {
      organizationId,
      ...(query.clusterId ? { clusterId: query.clusterId } : {}),
      ...(query.source ? { source: query.source } : {}),
      ...(query.kind ? { kind: query.kind } : {}),
      ...(query.since ? { createdAt: { gte: new Date(query.since) } } : {}),
      ...(before !== undefined ? { id: { lt: before } } : {}),
    };
    const rows = await db.auditEntry.findMany({ where, orderBy: { id: "desc" }, take: query.limit + 1 });
    return page(rows, query.limit);
  }

  return { listEvents, listResources, listApplications, listAudit };
}

export type EventQueries = ReturnType<typeof createEventQueries>;
