import type { UpdateClusterBody } from "@vwksp/protocol";
import type { Db } from "../db.ts";
import type { ConfigField, FieldMap } from "./field-map.ts";
import { SYNC_STATE_ID } from "./model-fields.ts";

const SETTING_OF: Partial<Record<ConfigField, keyof UpdateClusterBody>> = {
  name: "displayName",
  slug: "slug",
  connectivity_mode: "connectivityMode",
  allowed_namespaces: "allowedNamespaces",
  allowed_catalog_entries: "allowedCatalogEntries",
  allowed_operation_templates: "allowedOperationTemplates",
};

export type OdooOwnedSettings = Partial<Record<keyof UpdateClusterBody, string>>;

/** Settings Odoo owns (setting → Odoo field): mapped, and on the model as last seen. */
export function odooOwnedSettings(fields: FieldMap, missingFields: readonly string[]): OdooOwnedSettings {
  const owned: OdooOwnedSettings = {};
  for (const [logical, setting] of Object.entries(SETTING_OF) as [ConfigField, keyof UpdateClusterBody][]) {
    const name = fields[logical];
    if (name !== undefined && !missingFields.includes(name)) owned[setting] = name;
  }
  return owned;
}

/**
 * For the admin API while the bridge is on: what Odoo owns, read from what the worker learnt of
 * the model (`fields_get`). An admin's change to one of these would be reverted by the next pull,
 * so it is refused with 409 `owned_by_odoo` (clusters.service).
 */
export function createOdooOwnership({ db, fields }: { db: Db; fields: FieldMap }) {
  return async (): Promise<OdooOwnedSettings> => {
    const state = await db.odooSyncState.findUnique({
      where: { id: SYNC_STATE_ID },
      select: { missingFields: true },
    });
    return odooOwnedSettings(fields, state?.missingFields ?? []);
  };
}
