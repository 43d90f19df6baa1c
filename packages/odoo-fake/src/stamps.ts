import { formatOdooDatetime } from "@vwksp/odoo/values";
import type { FakeRow } from "./models.ts";

/**
 * PostgreSQL keeps timestamps to the microsecond and Odoo stamps `write_date` with the
 * transaction's start (`cr.now()`); the API shows whole seconds. The fake stores the same.
 */
export function transactionStamp(date: Date): string {
  return `${formatOdooDatetime(date)}.${String(date.getUTCMilliseconds()).padStart(3, "0")}000`;
}

/** What Odoo's API shows of a stored datetime: whole seconds. */
export const shownDatetime = (value: unknown) =>
  typeof value === "string" && value.length > 19 ? value.slice(0, 19) : value;

/** One committed change, replayed on the committed tables when a transaction commits. */
export type JournalEntry =
  | { kind: "create"; model: string; rows: FakeRow[]; uid: number }
  | {
      kind: "write";
      model: string;
      ids: number[];
      vals: Record<string, unknown>;
      uid: number;
      changed: string[];
    }
  | { kind: "unlink"; model: string; ids: number[]; uid: number };
