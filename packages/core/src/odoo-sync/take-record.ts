import { isOdooError } from "@vwksp/odoo";
import type { OdooRecordState } from "../db.ts";
import { DomainError } from "../errors.ts";
import { type ApplyOutcome, applyRecord } from "./apply-record.ts";
import type { SyncContext } from "./context.ts";
import type { ModelFields } from "./model-fields.ts";
import { contentHash, type OdooRecord, OdooRecordRejected } from "./record-values.ts";
import { showSyncError } from "./sync-error-field.ts";

export type TakeOutcome = ApplyOutcome | "rejected" | "seen";

export interface Taken {
  outcome: TakeOutcome;
  /** The cluster the record is (now) linked to, when it was applied. */
  clusterId?: string;
}

/** Why this record cannot be applied, or undefined when the error is not about the record. */
function refusal(error: unknown): string | undefined {
  if (error instanceof OdooRecordRejected) return error.message;
  // A slug taken, an invalid setting: the record asks for what this service refuses.
  if (error instanceof DomainError && error.statusCode < 500) return error.message;
  if (isOdooError(error) && !error.retryable) return `Odoo refused the bridge's write: ${error.message}`;
  return undefined;
}

/**
 * Takes one record read from Odoo. A record whose Odoo-owned content is the one taken last time
 * is skipped (the overlap window reads records again; a refused record is not retried until it
 * changes) unless `thorough` (the reconciliation, which compares everything again: an
 * organization created since may now accept it). Refusals are kept per record and shown on it.
 */
export async function takeRecord(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
  { thorough }: { thorough: boolean },
): Promise<Taken> {
  const hash = contentHash(record, fields);
  const key = { model_odooId: { model: ctx.model, odooId: record.id } };
  const state = await ctx.db.odooRecordState.findUnique({ where: key });
  if (!thorough && state?.contentHash === hash) return { outcome: "seen" };
  let taken: Taken;
  let error: string | null = null;
  try {
    const { outcome, cluster } = await applyRecord(ctx, fields, record);
    taken = { outcome, clusterId: cluster.id };
  } catch (thrown) {
    const reason = refusal(thrown);
    if (reason === undefined) throw thrown;
    error = reason;
    taken = { outcome: "rejected" };
  }
  await noteRecordState(ctx, record, state, hash, error);
  const cluster = taken.clusterId
    ? await ctx.db.cluster.findUnique({ where: { id: taken.clusterId }, select: { odooSyncError: true } })
    : null;
  await showSyncError(ctx, fields, record, [error, cluster?.odooSyncError ?? null]);
  return taken;
}

/**
 * Notes what was taken of a record of `ctx.model` and the refusal shown on it, when either changed;
 * a refusal that stays keeps the time it was first seen.
 */
export async function noteRecordState(
  ctx: SyncContext,
  record: OdooRecord,
  previous: OdooRecordState | null,
  hash: string,
  error: string | null,
) {
  if (previous?.contentHash === hash && previous.error === error) return;
  const errorAt = error === null ? null : error === previous?.error ? previous.errorAt : ctx.clock.now();
  const values = { writeDate: String(record.write_date ?? ""), contentHash: hash, error, errorAt };
  await ctx.db.odooRecordState.upsert({
    where: { model_odooId: { model: ctx.model, odooId: record.id } },
    create: { model: ctx.model, odooId: record.id, ...values },
    update: values,
  });
}
