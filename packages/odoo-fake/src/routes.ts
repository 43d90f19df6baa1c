import { htmlErrorPage, NOT_FOUND_TEXT, wrongContentType } from "./dialect.ts";
import { reasonPhrase } from "./faults.ts";
import { handleJson2 } from "./json2.ts";
import { handleJsonRpc, type JsonRpcRoute } from "./rpc.ts";
import { type FakeResponse, type FakeState, HTML_TYPE } from "./state.ts";

export interface IncomingRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

const JSON_MIMETYPES = new Set(["application/json", "application/json-rpc"]);
const JSON2_PATH = /^\/json\/2\/([^/]+)\/([^/]+)$/;

function html(status: number, body: string): FakeResponse {
  return { status, headers: { "Content-Type": HTML_TYPE }, body };
}

function sessionCookie(header: string | undefined): string | undefined {
  const match = /(?:^|;\s*)session_id=([^;]+)/.exec(header ?? "");
  return match?.[1];
}

/** Odoo's routing for the endpoints the fake serves; anything else is werkzeug's 404 page. */
export function routeRequest(state: FakeState, request: IncomingRequest): FakeResponse {
  const json2 = JSON2_PATH.exec(request.path);
  if (json2 && state.version >= 19) {
    return handleJson2(state, {
      method: request.method,
      model: decodeURIComponent(json2[1] ?? ""),
      odooMethod: decodeURIComponent(json2[2] ?? ""),
      headers: request.headers,
      body: request.body,
    });
  }
  const route = jsonRpcRoute(request.path);
  if (!route) return html(404, htmlErrorPage(404, "Not Found", NOT_FOUND_TEXT));
  const mimetype = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!JSON_MIMETYPES.has(mimetype)) {
    const type = state.version >= 19 ? "jsonrpc" : "json";
    const { status, description } = wrongContentType(state.version, route.pattern, type);
    return html(status, htmlErrorPage(status, reasonPhrase(status), description));
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request.body);
  } catch {
    return html(400, "Invalid JSON data");
  }
  return handleJsonRpc(state, route.route, payload, sessionCookie(request.headers.cookie));
}

function jsonRpcRoute(path: string): { route: JsonRpcRoute; pattern: string } | undefined {
  if (path === "/jsonrpc") return { route: "/jsonrpc", pattern: "/jsonrpc" };
  if (path === "/web/session/authenticate") {
    return { route: "/web/session/authenticate", pattern: "/web/session/authenticate" };
  }
  if (path === "/web/dataset/call_kw") return { route: "/web/dataset/call_kw", pattern: path };
  if (path.startsWith("/web/dataset/call_kw/")) {
    return { route: "/web/dataset/call_kw", pattern: "/web/dataset/call_kw/<path:path>" };
  }
  return undefined;
}
