import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Actor, ClustersService } from "../clusters/clusters.service.ts";
import type { Db } from "../db.ts";
import type { ModelFields, ModelFieldsSource } from "./model-fields.ts";
import { type OdooClientLike, WITH_ARCHIVED } from "./odoo-client.ts";
import type { OdooRecord } from "./record-values.ts";

/** What every part of the bridge works with. */
export interface SyncContext {
  db: Db;
  clock: Clock;
  audit: AuditService;
  clusters: ClustersService;
  client: OdooClientLike;
  model: string;
  modelFields: ModelFieldsSource;
  /** Records read per request. */
  pageSize: number;
}

/** The bridge acts on a cluster as "odoo", inside the cluster's organization. */
export const odooActor = (organizationId: string): Actor => ({ id: "odoo", organizationId });

/** Records matching `domain` (archived ones too), page by page in id order. */
export async function* recordPages(
  ctx: SyncContext,
  fields: Pick<ModelFields, "readFields">,
  domain: unknown[],
): AsyncGenerator<OdooRecord[]> {
  let lastId = 0;
  for (;;) {
    const page = (await ctx.client.searchRead(ctx.model, [...domain, ["id", ">", lastId]], {
      fields: fields.readFields,
      order: "id asc",
      limit: ctx.pageSize,
      context: WITH_ARCHIVED,
    })) as OdooRecord[];
    if (page.length > 0) yield page;
    if (page.length < ctx.pageSize) return;
    lastId = page.at(-1)?.id ?? lastId;
  }
}

/** The record of `ctx.model` with this id (archived or not), or undefined when Odoo has none. */
export async function readRecord(
  ctx: SyncContext,
  fields: Pick<ModelFields, "readFields">,
  odooId: number,
): Promise<OdooRecord | undefined> {
  const [record] = (await ctx.client.read(ctx.model, [odooId], {
    fields: fields.readFields,
    context: WITH_ARCHIVED,
  })) as OdooRecord[];
  return record;
}

/** Later of two Odoo datetimes (`YYYY-MM-DD HH:MM:SS` sorts as text). */
export function laterOf(a: string | null, b: unknown): string | null {
  if (typeof b !== "string" || b === "") return a;
  return a === null || b > a ? b : a;
}
