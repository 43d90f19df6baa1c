import { htmlErrorPage } from "./dialect.ts";
import { fault, json2Error, jsonRpcError, OdooFault, reasonPhrase } from "./faults.ts";
import { type FakeResponse, type FakeState, HTML_TYPE, jsonResponse } from "./state.ts";

/** What `failNext` makes the fake answer instead of the real thing. */
export type FakeFailure =
  /** A bare HTTP status, as a proxy in front of Odoo would send (default: an HTML page). */
  | { type: "status"; status: number; body?: string; contentType?: string }
  /** An Odoo exception, in the envelope of the route that was called. */
  | { type: "odoo"; name: string; message: string; status?: number }
  /** Odoo 18+'s `LockError` (HTTP 409 on JSON-2). */
  | { type: "lock"; message?: string }
  /** Close the socket without answering. */
  | { type: "drop" };

function requestId(body: string): unknown {
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === "object" && "id" in parsed ? parsed.id : null;
  } catch {
    return null;
  }
}

export function failureResponse(
  state: FakeState,
  path: string,
  body: string,
  failure: Exclude<FakeFailure, { type: "drop" }>,
): FakeResponse {
  if (failure.type === "status") {
    const reason = reasonPhrase(failure.status);
    return {
      status: failure.status,
      headers: { "Content-Type": failure.contentType ?? HTML_TYPE },
      body: failure.body ?? htmlErrorPage(failure.status, reason, "Simulated failure."),
    };
  }
  const error =
    failure.type === "lock"
      ? fault.lock(failure.message ?? "Could not obtain lock on the records, please retry.")
      : new OdooFault(failure.name, failure.message, failure.status ? { httpStatus: failure.status } : {});
  if (path.startsWith("/json/2/")) return jsonResponse(error.httpStatus, json2Error(error));
  return jsonResponse(200, jsonRpcError(state.version, requestId(body), error));
}
