import { formatOdooDatetime, parseOdooDatetime } from "@vwksp/odoo";
import { laterOf, readRecord, recordPages, type SyncContext } from "./context.ts";
import type { ModelFields } from "./model-fields.ts";
import { pushCluster } from "./push.ts";
import type { OdooRecord } from "./record-values.ts";
import { type TakeOutcome, takeRecord } from "./take-record.ts";

export type PullCounts = Record<TakeOutcome, number>;

export const emptyCounts = (): PullCounts => ({ created: 0, updated: 0, unchanged: 0, rejected: 0, seen: 0 });

/** The cursor moved back by the overlap, so that late commits are read (see `pull`). */
function pullFrom(cursor: string | null, overlapSeconds: number): string | undefined {
  if (cursor === null) return undefined;
  return formatOdooDatetime(new Date(parseOdooDatetime(cursor).getTime() - overlapSeconds * 1000));
}

/**
 * Reads the records changed since the cursor and applies them. Odoo stamps `write_date` with the
 * start of the saving transaction, so a save that commits after a pull carries a date older than
 * what that pull saw: every pull reads again from `overlapSeconds` before the cursor, and records
 * whose Odoo-owned content was already taken are skipped (the reconciliation catches saves that
 * take longer than the overlap).
 */
export async function pull(ctx: SyncContext, overlapSeconds: number) {
  const fields = await ctx.modelFields.get();
  return pullChanged(ctx, overlapSeconds, fields, (record) =>
    takeRecord(ctx, fields, record, { thorough: false }),
  );
}

/** The pull of `ctx.model` (clusters' or applications'): its cursor, its overlap, each record taken. */
export async function pullChanged<O extends TakeOutcome>(
  ctx: SyncContext,
  overlapSeconds: number,
  fields: Pick<ModelFields, "readFields">,
  take: (record: OdooRecord) => Promise<{ outcome: O }>,
) {
  const state = await ctx.db.odooCursor.upsert({
    where: { model: ctx.model },
    create: { model: ctx.model },
    update: {},
  });
  const from = pullFrom(state.cursor, overlapSeconds);
  const counts = emptyCounts();
  let cursor = state.cursor;
  for await (const page of recordPages(ctx, fields, from ? [["write_date", ">=", from]] : [])) {
    for (const record of page) {
      counts[(await take(record)).outcome] += 1;
      cursor = laterOf(cursor, record.write_date);
    }
  }
  await ctx.db.odooCursor.update({
    where: { model: ctx.model },
    data: { cursor, lastPullAt: ctx.clock.now() },
  });
  return { ...counts, cursor };
}

/**
 * One record at once (Odoo's webhook). A record that no longer exists may be a deleted one: the
 * push of its cluster searches for it and, finding nothing, marks the cluster removed.
 */
export async function pullRecord(ctx: SyncContext, odooId: number) {
  const fields = await ctx.modelFields.get();
  const record = await readRecord(ctx, fields, odooId);
  if (record) return (await takeRecord(ctx, fields, record, { thorough: false })).outcome;
  const linked = await ctx.db.cluster.findFirst({ where: { odooRecordId: odooId, odooRemovedAt: null } });
  if (linked) await pushCluster(ctx, linked.id);
  return "gone" as const;
}
