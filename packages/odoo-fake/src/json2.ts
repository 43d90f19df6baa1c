import { htmlErrorPage, NOT_FOUND_TEXT, wrongContentType } from "./dialect.ts";
import { fault, json2Error, OdooFault, reasonPhrase } from "./faults.ts";
import {
  executeJson2,
  type FakeResponse,
  type FakeState,
  HTML_TYPE,
  jsonResponse,
  userByApiKey,
} from "./state.ts";

export interface Json2Request {
  method: string;
  model: string;
  odooMethod: string;
  headers: Record<string, string | undefined>;
  body: string;
}

const BEARER = { "WWW-Authenticate": "Bearer " };

/** `/json/2/<model>/<method>` as Odoo 19 serves it (recorded: v19-json2-*). */
export function handleJson2(state: FakeState, request: Json2Request): FakeResponse {
  const database = request.headers["x-odoo-database"];
  if (database !== undefined && database !== state.db) {
    // Seen on real 19.0: Odoo cannot open that database, routes the request without one, and
    // /json/2 exists only with a database: werkzeug's plain 404 page.
    return {
      status: 404,
      headers: { "Content-Type": HTML_TYPE },
      body: htmlErrorPage(404, "Not Found", NOT_FOUND_TEXT),
    };
  }
  const mimetype = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mimetype !== "application/json") {
    const { status, description } = wrongContentType(
      state.version,
      "/json/2/<__model__>/<__method__>",
      "json2",
    );
    const reason = reasonPhrase(status);
    return {
      status,
      headers: { "Content-Type": HTML_TYPE, Accept: "application/json" },
      body: htmlErrorPage(status, reason, description),
    };
  }
  try {
    const user = authenticate(state, request.headers);
    if (request.method !== "POST") throw fault.http(405, "The method is not allowed for the requested URL.");
    const body = parseBody(request.body);
    const result = executeJson2(state, user, request.model, request.odooMethod, body);
    return jsonResponse(200, result ?? null);
  } catch (error) {
    if (!(error instanceof OdooFault)) throw error;
    return jsonResponse(error.httpStatus, json2Error(error), error.options.headers ?? {});
  }
}

function authenticate(state: FakeState, headers: Record<string, string | undefined>) {
  const match = /^bearer\s+(.+)$/i.exec(headers.authorization ?? "");
  if (!match?.[1]) {
    throw fault.http(
      401,
      "User not authenticated, use an API Key with a Bearer Authorization header.",
      BEARER,
    );
  }
  const user = userByApiKey(state, match[1].trim());
  if (!user) {
    throw fault.http(401, "Invalid apikey", BEARER);
  }
  return user;
}

function parseBody(text: string): Record<string, unknown> {
  if (text.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw fault.http(400, `could not parse the body as json: ${detail}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw fault.http(400, "could not parse the body, expecting a json object");
  }
  return value as Record<string, unknown>;
}
