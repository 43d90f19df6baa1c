import type { OdooStatus } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { OdooSyncState } from "../db.ts";
import type { OdooSyncDetails } from "./status.ts";

/**
 * The Odoo bridge's health as GET /api/v1/odoo/status shows it. The last pull is the latest of
 * any model's; the protocol is the one the server was found to speak, else the configured one.
 */
export function toOdooStatus(input: {
  enabled: boolean;
  /** ODOO_PROTOCOL, shown (when not `auto`) until a sync has found out which protocol the server speaks. */
  configuredProtocol: string;
  state: OdooSyncState | null;
  details: OdooSyncDetails;
  pending: number;
}): OdooStatus {
  const { enabled, state, details } = input;
  const lastPull = details.cursors
    .map((row) => row.lastPullAt?.getTime() ?? 0)
    .reduce((a, b) => Math.max(a, b), 0);
  return {
    enabled,
    protocol:
      state?.protocol ?? (enabled && input.configuredProtocol !== "auto" ? input.configuredProtocol : null),
    serverVersion: state?.serverVersion ?? null,
    lastPushAt: isoOrNull(state?.lastPushAt),
    lastPullAt: lastPull > 0 ? new Date(lastPull).toISOString() : null,
    pending: input.pending,
    pendingEvents: details.pendingEvents,
    lastError: state?.lastError ?? null,
    lastErrorAt: isoOrNull(state?.lastErrorAt),
    models: details.cursors.map((row) => ({
      model: row.model,
      cursor: row.cursor,
      lastPullAt: isoOrNull(row.lastPullAt),
      lastReconcileAt: isoOrNull(row.lastReconcileAt),
      lastError: row.lastError ?? null,
      lastErrorAt: isoOrNull(row.lastErrorAt),
    })),
    missingFields: state?.missingFields ?? [],
    recordErrors: details.recordErrors.map((row) => ({ ...row, since: isoOrNull(row.since) })),
    recordErrorCount: details.recordErrorCount,
  };
}
