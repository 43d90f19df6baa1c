import { z } from "zod";
import { OdooId } from "./values.ts";

/** JSON-RPC error envelope, as Odoo 16–19 send it (code 200 up to 18, 0 in 19, 100 = session). */
export const JsonRpcErrorData = z.looseObject({
  name: z.string(),
  message: z.string(),
  arguments: z.array(z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  debug: z.string().optional(),
});
export type JsonRpcErrorData = z.infer<typeof JsonRpcErrorData>;

export const JsonRpcError = z.looseObject({
  code: z.number(),
  message: z.string(),
  data: JsonRpcErrorData.optional(),
});
export type JsonRpcError = z.infer<typeof JsonRpcError>;

/** A missing `result` is how Odoo serialises Python's None. */
export const JsonRpcResponse = z.looseObject({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.number(), z.string(), z.null()]).optional(),
  result: z.unknown().optional(),
  error: JsonRpcError.optional(),
});
export type JsonRpcResponse = z.infer<typeof JsonRpcResponse>;

/** JSON-2 error body (Odoo 19): the serialised exception, next to an HTTP status. */
export const Json2ErrorBody = z.looseObject({
  name: z.string(),
  message: z.string(),
  arguments: z.array(z.unknown()).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
  debug: z.string().optional(),
});
export type Json2ErrorBody = z.infer<typeof Json2ErrorBody>;

/** `common.version`. `server_version_info[0]` is a number, or `"saas~18"` on SaaS builds. */
export const OdooVersion = z.looseObject({
  server_version: z.string(),
  server_version_info: z.array(z.union([z.number(), z.string()])).min(1),
  server_serie: z.string(),
  protocol_version: z.number(),
});
export type OdooVersion = z.infer<typeof OdooVersion>;

export const AuthenticateResult = z.union([OdooId, z.literal(false)]);
export const ContextGetResult = z.looseObject({ uid: OdooId });

/** A record as returned by read/search_read: always an `id`, other fields untyped. */
export const OdooRecord = z.looseObject({ id: OdooId });
export type OdooRecord = z.infer<typeof OdooRecord>;

export const RecordList = z.array(OdooRecord);
export const IdList = z.array(OdooId);
export const Count = z.number().int().nonnegative();
export const TrueResult = z.literal(true);

export const FieldDescription = z.looseObject({
  type: z.string().optional(),
  string: z.string().optional(),
  relation: z.string().optional(),
  required: z.boolean().optional(),
  readonly: z.boolean().optional(),
  selection: z.array(z.tuple([z.string(), z.string()])).optional(),
});
export type FieldDescription = z.infer<typeof FieldDescription>;
export const FieldsGetResult = z.record(z.string(), FieldDescription);

/** Extracts the major version; SaaS builds report `"saas~18"`. */
export function majorVersion(version: OdooVersion): number {
  const first = version.server_version_info[0];
  if (typeof first === "number") return first;
  const match = /(\d+)/.exec(first ?? "");
  return match?.[1] ? Number(match[1]) : Number.NaN;
}
