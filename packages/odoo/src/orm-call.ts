import { OdooError } from "./errors.ts";

/**
 * One ORM method call, described once and rendered for either transport. JSON-RPC's execute_kw
 * wants record ids and the leading arguments positionally (Odoo's call_kw reads `args[0]`);
 * JSON-2 wants everything named, with `ids` and `context` as reserved names.
 */
export interface OrmCall {
  model: string;
  method: string;
  /** Record ids for methods that run on records (read, write, unlink, ...). */
  ids?: number[];
  /** Leading arguments, in Python's positional order. */
  positional: [string, unknown][];
  /** Keyword arguments, `context` included. */
  kwargs: Record<string, unknown>;
}

interface Signature {
  onRecords: boolean;
  params: readonly string[];
}

/** Signatures of the BaseModel methods the client knows (Odoo 16–19 agree on these). */
const SIGNATURES: Record<string, Signature> = {
  search_read: { onRecords: false, params: ["domain", "fields", "offset", "limit", "order"] },
  search: { onRecords: false, params: ["domain", "offset", "limit", "order"] },
  search_count: { onRecords: false, params: ["domain", "limit"] },
  read: { onRecords: true, params: ["fields", "load"] },
  create: { onRecords: false, params: ["vals_list"] },
  write: { onRecords: true, params: ["vals"] },
  unlink: { onRecords: true, params: [] },
  fields_get: { onRecords: false, params: ["allfields", "attributes"] },
  context_get: { onRecords: false, params: [] },
};

/** `[model, method, args, kwargs]` for `object.execute_kw` (kwargs omitted when empty). */
export function toExecuteKw(call: OrmCall): unknown[] {
  const args: unknown[] = call.ids ? [call.ids] : [];
  for (const [, value] of call.positional) args.push(value);
  const hasKwargs = Object.keys(call.kwargs).length > 0;
  return hasKwargs ? [call.model, call.method, args, call.kwargs] : [call.model, call.method, args];
}

/** The JSON-2 body: named arguments, `ids` for record methods. */
export function toJson2Body(call: OrmCall): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (call.ids) body.ids = call.ids;
  for (const [name, value] of call.positional) body[name] = value;
  for (const [name, value] of Object.entries(call.kwargs)) {
    if (name in body) throw usageError(call, `argument ${name} given twice`);
    body[name] = value;
  }
  return body;
}

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((id) => Number.isInteger(id));
}

/**
 * Turns a positional execute_kw call into an OrmCall. For methods outside the table JSON-2 cannot
 * know the parameter names, so only `[]` and `[ids]` are accepted; use `call()` for the rest.
 */
export function fromExecuteKw(
  model: string,
  method: string,
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
): OrmCall {
  const call: OrmCall = { model, method, positional: [], kwargs: { ...kwargs } };
  const signature = SIGNATURES[method];
  if (!signature) {
    if (args.length === 0) return call;
    if (args.length === 1 && isIdList(args[0])) return { ...call, ids: args[0] };
    throw usageError(call, "positional arguments of this method cannot be named for JSON-2");
  }
  const rest = [...args];
  if (signature.onRecords) {
    const ids = rest.shift();
    if (!isIdList(ids) && !Number.isInteger(ids)) {
      throw usageError(call, "the first argument must be the record ids");
    }
    call.ids = isIdList(ids) ? ids : [ids as number];
  }
  if (rest.length > signature.params.length) {
    throw usageError(call, `too many positional arguments (${rest.length})`);
  }
  call.positional = rest.map((value, index) => [signature.params[index] ?? "", value]);
  return call;
}

function usageError(call: OrmCall, detail: string): OdooError {
  return new OdooError({
    transport: "json2",
    kind: "invalid_request",
    retryable: false,
    message: `${call.model}.${call.method}: ${detail}`,
    model: call.model,
    method: call.method,
  });
}
