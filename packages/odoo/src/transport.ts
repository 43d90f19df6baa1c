import { OdooError, type OdooTransport } from "./errors.ts";
import { type CallTarget, type HttpDeps, post, type RawResponse } from "./http.ts";
import { Json2ErrorBody, JsonRpcResponse } from "./schemas.ts";

function isJson(contentType: string): boolean {
  return /^application\/json\b/i.test(contentType.trim());
}

/** Non-JSON answers (HTML 400/415 from Odoo, 502 from a proxy, ...). */
function httpError(
  transport: OdooTransport,
  raw: RawResponse,
  path: string,
  deps: HttpDeps,
  target: CallTarget,
): OdooError {
  const text = raw.text
    .replace(/<[^>]*>/g, " ")
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 300);
  const detail = raw.location ? `redirected to ${raw.location}` : text;
  return new OdooError({
    transport,
    httpStatus: raw.status,
    message: `HTTP ${raw.status} from ${path}${detail ? `: ${detail}` : ""}`,
    secrets: deps.secrets,
    ...target,
  });
}

function protocolError(
  transport: OdooTransport,
  status: number | undefined,
  detail: string,
  deps: HttpDeps,
  target: CallTarget,
): OdooError {
  return new OdooError({
    transport,
    httpStatus: status,
    kind: "protocol",
    retryable: false,
    message: `unexpected Odoo response: ${detail}`,
    secrets: deps.secrets,
    ...target,
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * Real 19.0 answers /json/2 on a database it cannot open with werkzeug's plain 404 page (JSON-RPC
 * names the database in a psycopg2 error): the same kind, so both setups are handled alike. A
 * server without JSON-2 (before 19) answers the same page.
 */
function unknownDatabase(
  raw: RawResponse,
  path: string,
  db: string | undefined,
  deps: HttpDeps,
  target: CallTarget,
): OdooError {
  return new OdooError({
    transport: "json2",
    httpStatus: raw.status,
    kind: "unknown_database",
    retryable: false,
    message:
      `HTTP 404 from ${path}: Odoo has no database "${db ?? ""}" (ODOO_DB), ` +
      "or no JSON-2 API (Odoo 19+; ODOO_PROTOCOL=jsonrpc for older versions)",
    secrets: deps.secrets,
    ...target,
  });
}

export interface JsonRpcRequest extends CallTarget {
  baseUrl: string;
  service: string;
  serviceMethod: string;
  args: unknown[];
  id: number;
}

/** `POST /jsonrpc`; returns `result` (a missing result is Python's None → null). */
export async function callJsonRpc(deps: HttpDeps, request: JsonRpcRequest): Promise<unknown> {
  const target: CallTarget = { model: request.model, method: request.method };
  const body = JSON.stringify({
    jsonrpc: "2.0",
    method: "call",
    params: { service: request.service, method: request.serviceMethod, args: request.args },
    id: request.id,
  });
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const url = `${request.baseUrl}/jsonrpc`;
  const raw = await post(deps, url, headers, body, target);
  if (raw.status !== 200 || !isJson(raw.contentType)) {
    throw httpError("jsonrpc", raw, "/jsonrpc", deps, target);
  }
  const json = parseJson(raw.text);
  const parsed = json.ok ? JsonRpcResponse.safeParse(json.value) : undefined;
  if (!parsed?.success) {
    throw protocolError("jsonrpc", raw.status, "not a JSON-RPC 2.0 response", deps, target);
  }
  const { error, result } = parsed.data;
  if (error) {
    throw new OdooError({
      transport: "jsonrpc",
      httpStatus: raw.status,
      code: error.code,
      name: error.data?.name,
      message: error.data?.message ?? error.message,
      arguments: error.data?.arguments,
      debug: error.data?.debug,
      secrets: deps.secrets,
      ...target,
    });
  }
  return result === undefined ? null : result;
}

export interface Json2Request {
  baseUrl: string;
  db: string | undefined;
  apiKey: string;
  model: string;
  method: string;
  body: Record<string, unknown>;
}

const NAME_RE = /^[A-Za-z0-9_.]+$/;

/** `POST /json/2/<model>/<method>` with named arguments and a bearer key (Odoo 19+). */
export async function callJson2(deps: HttpDeps, request: Json2Request): Promise<unknown> {
  const target: CallTarget = { model: request.model, method: request.method };
  if (!NAME_RE.test(request.model) || !NAME_RE.test(request.method)) {
    throw protocolError("json2", undefined, "invalid model or method name", deps, target);
  }
  const path = `/json/2/${request.model}/${request.method}`;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "application/json",
    Authorization: `bearer ${request.apiKey}`,
  };
  if (request.db) headers["X-Odoo-Database"] = request.db;
  const raw = await post(deps, `${request.baseUrl}${path}`, headers, JSON.stringify(request.body), target);
  if (raw.status === 404 && !isJson(raw.contentType))
    throw unknownDatabase(raw, path, request.db, deps, target);
  if (!isJson(raw.contentType)) throw httpError("json2", raw, path, deps, target);
  const json = parseJson(raw.text);
  if (!json.ok) throw protocolError("json2", raw.status, "body is not JSON", deps, target);
  if (raw.status >= 200 && raw.status < 300) return json.value;
  const body = Json2ErrorBody.safeParse(json.value);
  if (!body.success) throw httpError("json2", raw, path, deps, target);
  throw new OdooError({
    transport: "json2",
    httpStatus: raw.status,
    name: body.data.name,
    message: body.data.message,
    arguments: body.data.arguments,
    debug: body.data.debug,
    secrets: deps.secrets,
    ...target,
  });
}
