import { badRequest } from "../errors.ts";
import { RUNTIME_FIELDS } from "./runtime-fields.ts";

/**
 * Logical fields of the Cluster Registry record and their default Odoo names
 * (docs/odoo-integration.md). Odoo owns the configuration fields, this service owns the runtime
 * fields; neither writes the other's. `sync_error` is where the bridge tells the Odoo user why a
 * record does not sync.
 */
export const CONFIG_FIELDS = [
  "name",
  "slug",
  "connectivity_mode",
  "allowed_namespaces",
  "allowed_catalog_entries",
  "allowed_operation_templates",
  "active",
] as const;
export const LOGICAL_FIELDS = [
  "cluster_id",
  ...CONFIG_FIELDS,
  ...RUNTIME_FIELDS.map((field) => field.logical),
  "sync_error",
] as const;
export type LogicalField = (typeof LOGICAL_FIELDS)[number] | "organization";
export type ConfigField = (typeof CONFIG_FIELDS)[number];

/** Catalog entries and operation templates are synced only when ODOO_FIELD_MAP names a field for them. */
const OPTIONAL_FIELDS = new Set<string>(["allowed_catalog_entries", "allowed_operation_templates"]);

/** Without these the bridge cannot work; the others are left out when the model lacks them. */
export const REQUIRED_FIELDS = ["cluster_id", "name"] as const;

export type FieldMap = Partial<Record<LogicalField, string>>;

const ODOO_FIELD_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Defaults overlaid with ODOO_FIELD_MAP (a JSON object logical → Odoo field name), plus the
 * organization field (ODOO_ORGANIZATION_FIELD) when one is set.
 */
export function parseFieldMap(json: string | undefined, organizationField?: string): FieldMap {
  const map: FieldMap = {};
  for (const field of LOGICAL_FIELDS) if (!OPTIONAL_FIELDS.has(field)) map[field] = field;
  if (organizationField) map.organization = organizationField;
  if (!json) return map;
  const overrides = JSON.parse(json) as Record<string, unknown>;
  for (const [logical, odooName] of Object.entries(overrides)) {
    // The application and catalog models' fields (model-maps.ts) check their own.
    if (/^(application|catalog)\./.test(logical)) continue;
    if (!(LOGICAL_FIELDS as readonly string[]).includes(logical)) {
      throw badRequest(
        "invalid_field_map",
        `ODOO_FIELD_MAP: unknown field "${logical}" (known: ${LOGICAL_FIELDS.join(", ")})`,
      );
    }
    if (typeof odooName !== "string" || !ODOO_FIELD_NAME.test(odooName)) {
      throw badRequest("invalid_field_map", `ODOO_FIELD_MAP: "${logical}" must map to an Odoo field name`);
    }
    map[logical as LogicalField] = odooName;
  }
  return map;
}

/** Newline-separated text in Odoo ↔ a list here; empty lines and surrounding spaces dropped. */
export const textToList = (value: unknown): string[] =>
  typeof value === "string"
    ? value
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean)
    : [];

export const listToText = (items: string[]) => items.join("\n");
