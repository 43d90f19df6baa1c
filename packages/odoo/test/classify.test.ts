import { describe, expect, it } from "vitest";
import { classifyOdooError, type OdooErrorKind } from "../src/index.ts";
import { loadTranscripts, type Transcript } from "./support/transcripts.ts";

/**
 * The classification of every error the real servers answered. None of them is transient: the
 * recordings hold no outage, so retryable kinds are covered by the client tests instead.
 */
const EXPECTED: Record<string, OdooErrorKind> = {
  "v16-access-error.txt": "access_error",
  "v16-missing-error.txt": "missing",
  "v16-object-badkey.txt": "access_denied",
  "v16-unknown-method.txt": "unknown_method",
  "v16-unknown-model.txt": "unknown_model",
  "v16-validation-error.txt": "validation",
  "v16-wrong-content-type.txt": "protocol",
  "v17-access-error.txt": "access_error",
  "v17-callkw-nosession.txt": "session_expired",
  "v17-malformed-json.txt": "protocol",
  "v17-missing-error.txt": "missing",
  "v17-object-badkey.txt": "access_denied",
  "v17-private-method.txt": "access_error",
  "v17-session-auth-apikey.txt": "access_denied",
  "v17-unknown-method.txt": "unknown_method",
  "v17-unknown-model.txt": "unknown_model",
  // Deleting a referenced record: PostgreSQL's FK error, reported as a ValidationError.
  "v17-user-error.txt": "validation",
  "v17-validation-error.txt": "validation",
  "v17-wrong-content-type.txt": "protocol",
  "v18-access-error.txt": "access_error",
  "v18-missing-error.txt": "missing",
  "v18-object-badkey.txt": "access_denied",
  "v18-unknown-method.txt": "unknown_method",
  "v18-unknown-model.txt": "unknown_model",
  "v18-validation-error.txt": "validation",
  "v18-wrong-content-type.txt": "protocol",
  "v19-admin-unlink-missing.txt": "missing",
  "v19-admin-write-missing.txt": "missing",
  "v19-bad-domain.txt": "invalid_request",
  "v19-bad-kwarg.txt": "invalid_request",
  "v19-callkw-nosession.txt": "session_expired",
  "v19-create-batch.txt": "access_error",
  "v19-create-single.txt": "access_error",
  "v19-json2-access-error.txt": "access_error",
  // HTTP 500, yet a bad domain never heals: not retryable.
  "v19-json2-bad-domain.txt": "invalid_request",
  "v19-json2-bad-key.txt": "access_denied",
  "v19-json2-bad-kwarg.txt": "invalid_request",
  "v19-json2-missing-error.txt": "missing",
  "v19-json2-no-auth.txt": "access_denied",
  "v19-json2-private-method.txt": "access_error",
  "v19-json2-unknown-method.txt": "unknown_method",
  "v19-json2-unknown-model.txt": "unknown_model",
  "v19-json2-user-error.txt": "user_error",
  "v19-json2-validation-error.txt": "validation",
  "v19-json2-wrong-ct.txt": "protocol",
  "v19-malformed-json.txt": "protocol",
  "v19-missing-args.txt": "invalid_request",
  "v19-object-badkey.txt": "access_denied",
  "v19-private-method.txt": "access_error",
  "v19-session-auth-apikey.txt": "access_denied",
  "v19-unknown-common-method.txt": "unknown_method",
  "v19-unknown-method.txt": "unknown_method",
  "v19-unknown-model.txt": "unknown_model",
  "v19-unknown-service.txt": "invalid_request",
  "v19-user-error.txt": "user_error",
  "v19-validation-error.txt": "validation",
  "v19-write.txt": "missing",
  "v19-wrong-content-type.txt": "protocol",
  "v19-wrong-db.txt": "unknown_database",
};

interface RecordedError {
  transport: "jsonrpc" | "json2";
  name: string | undefined;
  message: string;
  httpStatus: number;
}

/** The error a transcript shows, as the client reads it; undefined for successful answers. */
function recordedError(transcript: Transcript): RecordedError | undefined {
  const { status, body, headers } = transcript.response;
  const transport = transcript.request.path.startsWith("/json/2/") ? "json2" : "jsonrpc";
  const json = headers.some(
    ([name, value]) => name === "Content-Type" && value.startsWith("application/json"),
  );
  if (!json) return { transport, name: undefined, message: body, httpStatus: status };
  if (transport === "json2") {
    if (status < 400) return undefined;
    const parsed = JSON.parse(body) as { name: string; message: string };
    return { transport, name: parsed.name, message: parsed.message, httpStatus: status };
  }
  if (!body.includes('"error": {')) return undefined;
  const { error } = JSON.parse(body) as { error: { data: { name: string; message: string } } };
  return { transport, name: error.data.name, message: error.data.message, httpStatus: status };
}

describe("classification of the recorded errors", () => {
  const errors = loadTranscripts().flatMap((transcript) => {
    const error = recordedError(transcript);
    return error ? [[transcript.file, error] as const] : [];
  });

  it("has an expectation for every recorded error and nothing else", () => {
    expect(errors.map(([file]) => file).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(errors)("%s", (file, error) => {
    const classification = classifyOdooError(error);
    expect(classification).toEqual({ kind: EXPECTED[file], retryable: false });
  });
});

describe("transient failures", () => {
  it.each([
    [{ transport: "json2", name: "odoo.exceptions.LockError", httpStatus: 409 }, "lock"],
    [{ transport: "jsonrpc", name: "odoo.exceptions.LockError", httpStatus: 200 }, "lock"],
    [{ transport: "jsonrpc", name: "psycopg2.errors.SerializationFailure", httpStatus: 200 }, "lock"],
    [{ transport: "jsonrpc", name: "odoo.exceptions.ConcurrencyError", httpStatus: 200 }, "lock"],
    [{ transport: "json2", name: undefined, httpStatus: 409 }, "lock"],
    [{ transport: "json2", name: undefined, httpStatus: 502 }, "server"],
    [{ transport: "jsonrpc", name: undefined, httpStatus: 503 }, "server"],
    [{ transport: "jsonrpc", name: undefined, httpStatus: 429 }, "rate_limited"],
    [{ transport: "jsonrpc", name: "psycopg2.OperationalError", httpStatus: 200 }, "server"],
    [{ transport: "jsonrpc", name: "builtins.MemoryError", httpStatus: 200 }, "server"],
    [{ transport: "network", name: undefined, httpStatus: undefined }, "network"],
  ] as const)("%j is %s", (input, kind) => {
    expect(classifyOdooError({ ...input, message: "x" })).toEqual({ kind, retryable: true });
  });
});
