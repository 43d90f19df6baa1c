import type { DetectedServer, FieldDescription, OdooContext } from "@vwksp/odoo";

/** The slice of the Odoo client (packages/odoo) the bridge uses. */
export interface OdooClientLike {
  detectedServer(): DetectedServer | undefined;
  fieldsGet(model: string, options?: { attributes?: string[] }): Promise<Record<string, FieldDescription>>;
  searchRead(
    model: string,
    domain: unknown[],
    options?: { fields?: string[]; limit?: number; order?: string; context?: OdooContext },
  ): Promise<Record<string, unknown>[]>;
  read(
    model: string,
    ids: number[],
    options?: { fields?: string[]; context?: OdooContext },
  ): Promise<Record<string, unknown>[]>;
  create(model: string, vals: Record<string, unknown>): Promise<number>;
  write(model: string, ids: number[], vals: Record<string, unknown>): Promise<true>;
  /** Any other method, arguments named (message_post). */
  call(model: string, method: string, named?: { ids?: number[] } & Record<string, unknown>): Promise<unknown>;
}

/** Archived records too: an archived record is not a deleted one. */
export const WITH_ARCHIVED = { active_test: false } as const;
