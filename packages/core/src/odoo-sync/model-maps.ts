import { badRequest } from "../errors.ts";
import { loadedOnce, OdooContractError } from "./model-fields.ts";
import type { OdooClientLike } from "./odoo-client.ts";

/**
 * Fields of Workspace Hub's application model (ODOO_APPLICATION_MODEL) and of the catalog model
 * (ODOO_CATALOG_MODEL), with their default Odoo names; ODOO_FIELD_MAP renames them with a prefix
 * (`{"application.hostname": "x_host"}`). Odoo owns an application's configuration, this service
 * its runtime; the catalog is this service's alone.
 */
export const APPLICATION_CONFIG_FIELDS = [
  "name",
  "namespace",
  "catalog_entry",
  "hostname",
  "values",
  "cluster_id",
  "active",
] as const;
export const APPLICATION_RUNTIME_FIELDS = [
  "state",
  "state_reason",
  "url",
  "ready_since",
  "chart_version",
  "last_job_id",
] as const;
export const APPLICATION_FIELDS = [
  "instance_id",
  ...APPLICATION_CONFIG_FIELDS,
  ...APPLICATION_RUNTIME_FIELDS,
  "sync_error",
] as const;
export type ApplicationField = (typeof APPLICATION_FIELDS)[number];
const APPLICATION_REQUIRED = ["instance_id", "name", "namespace", "catalog_entry", "cluster_id"] as const;

export const CATALOG_FIELDS = ["code", "name", "chart_name", "chart_version", "chart_url", "active"] as const;
export type CatalogField = (typeof CATALOG_FIELDS)[number];
const CATALOG_REQUIRED = ["code", "name"] as const;

const ODOO_FIELD_NAME = /^[a-z_][a-z0-9_]*$/;

function prefixedMap<F extends string>(
  json: string | undefined,
  prefix: string,
  known: readonly F[],
): Record<F, string> {
  const map = Object.fromEntries(known.map((field) => [field, field])) as unknown as Record<F, string>;
  if (!json) return map;
  for (const [key, odooName] of Object.entries(JSON.parse(json) as Record<string, unknown>)) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const logical = key.slice(prefix.length + 1);
    if (!(known as readonly string[]).includes(logical)) {
      throw badRequest(
        "invalid_field_map",
        `ODOO_FIELD_MAP: unknown field "${key}" (known: ${known.map((field) => `${prefix}.${field}`).join(", ")})`,
      );
    }
    if (typeof odooName !== "string" || !ODOO_FIELD_NAME.test(odooName)) {
      throw badRequest("invalid_field_map", `ODOO_FIELD_MAP: "${key}" must map to an Odoo field name`);
    }
    map[logical as F] = odooName;
  }
  return map;
}

export const parseApplicationFieldMap = (json: string | undefined) =>
  prefixedMap(json, "application", APPLICATION_FIELDS);
export const parseCatalogFieldMap = (json: string | undefined) =>
  prefixedMap(json, "catalog", CATALOG_FIELDS);

/** The mapped fields one Odoo model really has (`fields_get`, once per connection). */
export interface MappedFields<F extends string> {
  name(logical: F): string | undefined;
  readFields: string[];
  missing: string[];
}

export function createMappedFields<F extends string>(deps: {
  client: OdooClientLike;
  model: string;
  map: Record<F, string>;
  required: readonly F[];
}) {
  async function load(): Promise<MappedFields<F>> {
    const described = await deps.client.fieldsGet(deps.model, { attributes: ["type"] });
    for (const logical of deps.required) {
      const name = deps.map[logical];
      if (!described[name]) {
        throw new OdooContractError(
          `the Odoo model ${deps.model} has no field ${name} (${logical}; ODOO_FIELD_MAP)`,
        );
      }
    }
    const present = new Map<F, string>();
    const missing: string[] = [];
    for (const [logical, name] of Object.entries(deps.map) as [F, string][]) {
      if (described[name]) present.set(logical, name);
      else missing.push(name);
    }
    return {
      name: (logical) => present.get(logical),
      readFields: [...new Set(["id", "write_date", ...present.values()])],
      missing,
    };
  }
  return loadedOnce(load);
}

export type MappedFieldsSource<F extends string> = ReturnType<typeof createMappedFields<F>>;

export const applicationFieldsSource = (client: OdooClientLike, model: string, json: string | undefined) =>
  createMappedFields<ApplicationField>({
    client,
    model,
    map: parseApplicationFieldMap(json),
    required: APPLICATION_REQUIRED,
  });

export const catalogFieldsSource = (client: OdooClientLike, model: string, json: string | undefined) =>
  createMappedFields<CatalogField>({
    client,
    model,
    map: parseCatalogFieldMap(json),
    required: CATALOG_REQUIRED,
  });
