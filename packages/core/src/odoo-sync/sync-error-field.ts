import type { SyncContext } from "./context.ts";
import type { ModelFields } from "./model-fields.ts";
import type { OdooRecord } from "./record-values.ts";

/** What the record's sync_error should say: the pull's and the push's errors, or nothing. */
export function syncErrorText(errors: (string | null | undefined)[]): string | false {
  const text = errors.filter((error): error is string => !!error).join("\n");
  return text === "" ? false : text.slice(0, 2000);
}

/** The sync_error value to write so the record shows `errors`, or undefined when it already does. */
export function syncErrorChange(
  fields: ModelFields,
  record: OdooRecord,
  errors: (string | null | undefined)[],
): Record<string, string | false> | undefined {
  const name = fields.name("sync_error");
  if (name === undefined) return undefined;
  const wanted = syncErrorText(errors);
  const shown = typeof record[name] === "string" && record[name] !== "" ? record[name] : false;
  return shown === wanted ? undefined : { [name]: wanted };
}

/**
 * Tells the Odoo user on the record why it does not sync (when the model has sync_error). The
 * error itself is kept here and listed in /api/v1/odoo/status; if Odoo refuses this write too,
 * that listing is what remains, so a failure here is not an error of its own.
 */
export async function showSyncError(
  ctx: SyncContext,
  fields: ModelFields,
  record: OdooRecord,
  errors: (string | null | undefined)[],
) {
  const change = syncErrorChange(fields, record, errors);
  if (change) await ctx.client.write(ctx.model, [record.id], change).catch(() => undefined);
}
