import { isOdooError, type OdooErrorKind } from "@vwksp/odoo";
import type { Db } from "../db.ts";
import { type FieldMap, type LogicalField, REQUIRED_FIELDS } from "./field-map.ts";
import type { OdooClientLike } from "./odoo-client.ts";

export const SYNC_STATE_ID = "default";

/** The Odoo model does not fit the field contract: retrying cannot help, fixing Odoo can. */
export class OdooContractError extends Error {
  override readonly name = "OdooContractError";
  readonly retryable = false;
  readonly kind = "contract";
}

/** The mapped fields the Odoo model really has, asked once per connection (`fields_get`). */
export interface ModelFields {
  /** The Odoo name of a logical field, when the model has it. */
  name(logical: LogicalField): string | undefined;
  /** Every mapped field the model has, plus `id` and `write_date`. */
  readFields: string[];
  /** Mapped fields the model lacks (shown in /api/v1/odoo/status). */
  missing: string[];
  /** The model inherits mail.thread (it has `message_ids`): the bridge may post on its chatter. */
  chatter: boolean;
}

/** After these the model may have changed (an upgrade, another module version): ask again. */
const RELOAD_AFTER = new Set<OdooErrorKind>([
  "network",
  "timeout",
  "protocol",
  "unknown_database",
  "invalid_request",
]);

const TEXT_TYPES = new Set(["char", "text", "selection"]);

export function createModelFields(deps: { db: Db; client: OdooClientLike; model: string; fields: FieldMap }) {
  const { db, client, model, fields } = deps;

  async function load(): Promise<ModelFields> {
    const described = await client.fieldsGet(model, { attributes: ["type"] });
    for (const logical of REQUIRED_FIELDS) {
      const name = fields[logical];
      if (!name || !described[name]) {
        throw new OdooContractError(
          `the Odoo model ${model} has no field ${name ?? logical} (${logical}; ODOO_FIELD_MAP)`,
        );
      }
    }
    const organization = fields.organization;
    const organizationType = organization ? described[organization]?.type : undefined;
    if (organization && organizationType && !TEXT_TYPES.has(organizationType)) {
      throw new OdooContractError(
        `ODOO_ORGANIZATION_FIELD: ${model}.${organization} is a ${organizationType} field; it must be a char field carrying the organization's slug`,
      );
    }
    const present = Object.fromEntries(
      Object.entries(fields).filter(([, name]) => name !== undefined && described[name] !== undefined),
    ) as FieldMap;
    const missing = Object.values(fields).filter((name): name is string => !!name && !described[name]);
    const server = client.detectedServer();
    const noted = {
      protocol: server?.protocol ?? null,
      serverVersion: server?.serverVersion ?? null,
      missingFields: missing,
    };
    await db.odooSyncState.upsert({
      where: { id: SYNC_STATE_ID },
      create: { id: SYNC_STATE_ID, ...noted },
      update: noted,
    });
    return {
      name: (logical) => present[logical],
      readFields: [
        ...new Set(["id", "write_date", ...Object.values(present).filter((name): name is string => !!name)]),
      ],
      missing,
      chatter: described.message_ids !== undefined,
    };
  }

  return loadedOnce(load);
}

/**
 * What `load` answers, asked once and kept (for the clusters' model and the applications' and
 * catalog's maps alike) until it fails or `forgetAfter` an error that may mean a change.
 */
export function loadedOnce<T>(load: () => Promise<T>) {
  let loaded: Promise<T> | undefined;
  return {
    get(): Promise<T> {
      loaded ??= load().catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
    /** Drops what was learnt when an error says the connection or the model may have changed. */
    forgetAfter(error: unknown) {
      if (isOdooError(error) && RELOAD_AFTER.has(error.kind)) loaded = undefined;
    },
  };
}

export type ModelFieldsSource = ReturnType<typeof createModelFields>;
