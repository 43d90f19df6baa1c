import { z } from "zod";
import { Rfc3339 } from "../common.ts";

/** GET /api/v1/odoo/status: where the Odoo bridge stands (docs/odoo-integration.md). */

export const OdooModelSync = z
  .object({
    model: z.string(),
    cursor: z.string().nullable().describe("highest write_date pulled (Odoo's UTC text)"),
    lastPullAt: Rfc3339.nullable(),
    lastReconcileAt: Rfc3339.nullable(),
    lastError: z
      .string()
      .nullable()
      .describe("the last error that stopped a sync job of this model, until one succeeds"),
    lastErrorAt: Rfc3339.nullable(),
  })
  .meta({ id: "OdooModelSync" });
export type OdooModelSync = z.infer<typeof OdooModelSync>;

export const OdooRecordError = z
  .object({
    direction: z
      .enum(["pull", "push"])
      .describe("pull: Odoo's record refused here; push: Odoo refused our write"),
    model: z.string().nullable(),
    odooId: z.number().int().nullable(),
    clusterId: z.string().uuid().nullable(),
    message: z.string(),
    since: Rfc3339.nullable(),
  })
  .meta({ id: "OdooRecordError" });
export type OdooRecordError = z.infer<typeof OdooRecordError>;

export const OdooStatus = z
  .object({
    enabled: z.boolean(),
    protocol: z.string().nullable(),
    serverVersion: z.string().nullable(),
    lastPushAt: Rfc3339.nullable(),
    lastPullAt: Rfc3339.nullable(),
    pending: z.number().int().describe("sync jobs waiting, delayed (backing off) or running"),
    pendingEvents: z
      .number()
      .int()
      .describe("domain events in the outbox not pushed to Odoo yet (application pushes, chatter messages)"),
    lastError: z.string().nullable().describe("the last error that stopped a sync job, until one succeeds"),
    lastErrorAt: Rfc3339.nullable(),
    models: z.array(OdooModelSync),
    missingFields: z.array(z.string()).describe("contract fields the Odoo model lacks; left out of the sync"),
    recordErrors: z
      .array(OdooRecordError)
      .describe("records (newest first, up to 100) that do not sync, kept until they do"),
    recordErrorCount: z.number().int(),
  })
  .meta({ id: "OdooStatus" });
export type OdooStatus = z.infer<typeof OdooStatus>;
