import { createHash } from "node:crypto";
import { CONFIG_FIELDS, type ConfigField, type LogicalField, textToList } from "./field-map.ts";
import type { ModelFields } from "./model-fields.ts";

export type OdooRecord = Record<string, unknown> & { id: number };

/** A record this service cannot take as it is; only a change of the record can fix it. */
export class OdooRecordRejected extends Error {
  override readonly name = "OdooRecordRejected";
}

const text = (value: unknown) => (typeof value === "string" ? value.trim() : "");

function fieldValue(record: OdooRecord, fields: ModelFields, logical: LogicalField): unknown {
  const name = fields.name(logical);
  return name === undefined ? undefined : record[name];
}

export const clusterIdOf = (record: OdooRecord, fields: ModelFields) =>
  text(fieldValue(record, fields, "cluster_id"));

/** Archived in Odoo (`active = false`); a model without `active` never archives. */
export const isArchived = (record: OdooRecord, fields: ModelFields) =>
  fieldValue(record, fields, "active") === false;

/** The organization's slug the record names (ODOO_ORGANIZATION_FIELD); undefined when unmapped. */
export function organizationSlugOf(record: OdooRecord, fields: ModelFields): string | undefined {
  return fields.name("organization") === undefined
    ? undefined
    : text(fieldValue(record, fields, "organization"));
}

/**
 * SHA-256 of what Odoo owns in the record (identity, configuration, organization). Our own writes
 * (runtime fields, sync_error) leave it alone, so reading them back changes nothing.
 */
export function contentHash(record: OdooRecord, fields: ModelFields): string {
  const owned: LogicalField[] = ["cluster_id", ...CONFIG_FIELDS, "organization"];
  const values = owned.map((logical) => [logical, fieldValue(record, fields, logical) ?? null]);
  return createHash("sha256").update(JSON.stringify(values)).digest("hex");
}

/**
 * The record's configuration in this service's terms. Empty means empty: a list cleared in Odoo
 * is an empty list here. A name or connectivity mode cannot be empty here, so their absence is a
 * problem; an empty slug keeps ours (the bridge writes it back).
 */
export function configOf(record: OdooRecord, fields: ModelFields) {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  const has = (logical: ConfigField) => fields.name(logical) !== undefined;
  const name = text(fieldValue(record, fields, "name"));
  if (name) settings.displayName = name;
  else problems.push(`${fields.name("name")} is empty`);
  const slug = text(fieldValue(record, fields, "slug"));
  if (slug) settings.slug = slug;
  if (has("connectivity_mode")) {
    const mode = text(fieldValue(record, fields, "connectivity_mode"));
    if (mode) settings.connectivityMode = mode;
    else problems.push(`${fields.name("connectivity_mode")} is empty (pull, push or gitops)`);
  }
  const lists = {
    allowedNamespaces: "allowed_namespaces",
    allowedCatalogEntries: "allowed_catalog_entries",
    allowedOperationTemplates: "allowed_operation_templates",
  } as const;
  for (const [setting, logical] of Object.entries(lists)) {
    if (has(logical)) settings[setting] = textToList(fieldValue(record, fields, logical));
  }
  return { settings, problems };
}
