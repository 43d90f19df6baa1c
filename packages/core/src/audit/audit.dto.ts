import type { AuditView } from "@vwksp/protocol";
import type { AuditEntry } from "../db.ts";

/** An audit trail entry as the admin API lists it. */
export function toAuditView(entry: AuditEntry): AuditView {
  return {
    id: String(entry.id),
    source: entry.source,
    kind: entry.kind,
    actor: entry.actor,
    clusterId: entry.clusterId,
    data: entry.data as Record<string, unknown>,
    createdAt: entry.createdAt.toISOString(),
  };
}
