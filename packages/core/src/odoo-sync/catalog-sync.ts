import type { SyncContext } from "./context.ts";
import type { CatalogField, MappedFieldsSource } from "./model-maps.ts";
import { WITH_ARCHIVED } from "./odoo-client.ts";
import type { OdooRecord } from "./record-values.ts";
import { sameOdooValue } from "./runtime-fields.ts";

export interface CatalogSyncContext extends SyncContext {
  catalogModel: string;
  catalogFields: MappedFieldsSource<CatalogField>;
}

/**
 * Pushes the shared catalog to ODOO_CATALOG_MODEL so that Odoo's Deploy app form can offer it:
 * an entry per catalog id (`code`), created or updated where it differs; an entry removed here is
 * archived there (when the model has `active`). This service owns the model; Odoo only reads it.
 */
export async function pushCatalog(ctx: CatalogSyncContext) {
  const fields = await ctx.catalogFields.get();
  const codeField = fields.name("code") as string;
  const entries = await ctx.db.catalogEntry.findMany({ orderBy: { id: "asc" } });
  const records = (await ctx.client.searchRead(ctx.catalogModel, [], {
    fields: fields.readFields,
    context: WITH_ARCHIVED,
  })) as OdooRecord[];
  const byCode = new Map(records.map((record) => [record[codeField], record]));
  const counts = { created: 0, written: 0, archived: 0, unchanged: 0 };
  for (const entry of entries) {
    const chart = (entry.chart ?? {}) as { name?: unknown; version?: unknown; url?: unknown };
    const wanted: Record<CatalogField, unknown> = {
      code: entry.id,
      name: entry.name,
      chart_name: typeof chart.name === "string" ? chart.name : false,
      chart_version: typeof chart.version === "string" ? chart.version : false,
      chart_url: typeof chart.url === "string" ? chart.url : false,
      active: true,
    };
    const record = byCode.get(entry.id);
    const values: Record<string, unknown> = {};
    for (const [logical, value] of Object.entries(wanted) as [CatalogField, unknown][]) {
      const name = fields.name(logical);
      if (name !== undefined && (!record || !sameOdooValue(value, record[name]))) values[name] = value;
    }
    if (!record) {
      await ctx.client.create(ctx.catalogModel, values);
      counts.created += 1;
    } else if (Object.keys(values).length > 0) {
      await ctx.client.write(ctx.catalogModel, [record.id], values);
      counts.written += 1;
    } else counts.unchanged += 1;
  }
  const activeField = fields.name("active");
  const known = new Set(entries.map((entry) => entry.id));
  const stale = records.filter(
    (record) => !known.has(String(record[codeField])) && activeField && record[activeField],
  );
  if (activeField && stale.length > 0) {
    await ctx.client.write(
      ctx.catalogModel,
      stale.map((record) => record.id),
      { [activeField]: false },
    );
    counts.archived = stale.length;
  }
  return counts;
}
