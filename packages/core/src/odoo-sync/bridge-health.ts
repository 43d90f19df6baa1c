import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { SYNC_STATE_ID } from "./model-fields.ts";

/** Errors after which the bridge may have missed everything it tried: reconcile once it works again. */
const ACCESS_KINDS = ["access_denied", "access_error", "session_expired", "unknown_database", "contract"];

/**
 * The bridge's own health (not a record's): the last error that stopped a sync job, with its kind,
 * until a job succeeds again.
 */
export function createBridgeHealth({ db, clock }: { db: Db; clock: Clock }) {
  async function recordError(message: string, kind: string) {
    const now = clock.now();
    const values = { lastError: message.slice(0, 4000), lastErrorKind: kind, lastErrorAt: now };
    await db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID, ...values },
      update: values,
    });
  }

  /**
   * A job worked: the last error no longer describes the bridge. Returns true when that error
   * was one of access (a wrong key, missing rights, a wrong database): pushes refused meanwhile
   * were not retried, so the caller runs a reconciliation now.
   */
  async function noteSuccess(): Promise<boolean> {
    const state = await db.odooSyncState.findUnique({ where: { id: SYNC_STATE_ID } });
    if (!state?.lastError) return false;
    const cleared = await db.odooSyncState.updateMany({
      where: { id: SYNC_STATE_ID, lastErrorAt: state.lastErrorAt },
      data: { lastError: null, lastErrorKind: null, lastErrorAt: null },
    });
    return cleared.count > 0 && ACCESS_KINDS.includes(state.lastErrorKind ?? "");
  }

  return { recordError, noteSuccess };
}
