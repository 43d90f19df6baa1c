import { badRequest } from "../errors.ts";

/**
 * Logical fields of the Cluster Registry record and their default Odoo names. Odoo owns the
 * configuration fields, this service owns the runtime fields; neither writes the other's.
 */
export const CONFIG_FIELDS = [
  "name",
  "slug",
  "connectivity_mode",
  "allowed_namespaces",
  "allowed_catalog_entries",
  "allowed_operation_templates",
] as const;
export const RUNTIME_FIELDS = [
  "state",
  "last_heartbeat",
  "operator_version",
  "flux_version",
  "velero_version",
  "health_message",
] as const;
export const LOGICAL_FIELDS = ["cluster_id", ...CONFIG_FIELDS, ...RUNTIME_FIELDS] as const;
export type LogicalField = (typeof LOGICAL_FIELDS)[number];

/**
 * Synced only when ODOO_FIELD_MAP names a field for them: catalog entries, operation templates,
 * and the health message (a model without that field would refuse every push).
 */
const OPTIONAL_FIELDS = new Set<LogicalField>([
  "allowed_catalog_entries",
  "allowed_operation_templates",
  "health_message",
]);

export type FieldMap = Partial<Record<LogicalField, string>>;

/** Defaults overlaid with ODOO_FIELD_MAP (a JSON object logical → Odoo field name). */
export function parseFieldMap(json: string | undefined): FieldMap {
  const map: FieldMap = {};
  for (const field of LOGICAL_FIELDS) if (!OPTIONAL_FIELDS.has(field)) map[field] = field;
  if (!json) return map;
  const overrides = JSON.parse(json) as Record<string, unknown>;
  for (const [logical, odooName] of Object.entries(overrides)) {
    if (!(LOGICAL_FIELDS as readonly string[]).includes(logical)) {
      throw badRequest(
        "invalid_field_map",
        `ODOO_FIELD_MAP: unknown field "${logical}" (known: ${LOGICAL_FIELDS.join(", ")})`,
      );
    }
    if (typeof odooName !== "string" || !/^[a-z_][a-z0-9_]*$/.test(odooName)) {
      throw badRequest("invalid_field_map", `ODOO_FIELD_MAP: "${logical}" must map to an Odoo field name`);
    }
    map[logical as LogicalField] = odooName;
  }
  return map;
}

/** Newline-separated text in Odoo ↔ a list here; empty lines and surrounding spaces dropped. */
export const textToList = (value: unknown): string[] | undefined =>
  typeof value === "string" && value.trim()
    ? value
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter(Boolean)
    : undefined;

export const listToText = (items: string[]) => items.join("\n");
