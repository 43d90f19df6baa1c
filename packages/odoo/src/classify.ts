/**
 * Maps what Odoo answers to a short kind and a retry decision. The rules come from the recorded
 * transcripts (packages/odoo/test/fixtures/odoo): Odoo 16–19 JSON-RPC always answers HTTP 200 with an
 * `error.data.name`; JSON-2 (Odoo 19) answers an HTTP status plus the same `name`.
 */
export type OdooErrorKind =
  | "access_denied"
  | "access_error"
  | "validation"
  | "user_error"
  | "missing"
  | "unknown_model"
  | "unknown_method"
  | "unknown_database"
  | "invalid_request"
  | "session_expired"
  | "lock"
  | "rate_limited"
  | "server"
  | "network"
  | "timeout"
  | "protocol";

export interface ClassifyInput {
  transport: "jsonrpc" | "json2" | "network";
  name: string | undefined;
  message: string;
  httpStatus: number | undefined;
}

export interface Classification {
  kind: OdooErrorKind;
  retryable: boolean;
}

const fatal = (kind: OdooErrorKind): Classification => ({ kind, retryable: false });
const transient = (kind: OdooErrorKind): Classification => ({ kind, retryable: true });

// Exception names that always mean the same thing, whatever the transport.
const BY_NAME: Record<string, Classification> = {
  "odoo.exceptions.AccessDenied": fatal("access_denied"),
  "werkzeug.exceptions.Unauthorized": fatal("access_denied"),
  "werkzeug.exceptions.Forbidden": fatal("access_error"),
  "odoo.exceptions.AccessError": fatal("access_error"),
  "odoo.exceptions.MissingError": fatal("missing"),
  "odoo.exceptions.ValidationError": fatal("validation"),
  "odoo.exceptions.RedirectWarning": fatal("user_error"),
  "odoo.http.SessionExpiredException": fatal("session_expired"),
  // Deterministic programming errors: a bad domain (ValueError), a bad kwarg (TypeError), an
  // unknown service (KeyError). JSON-2 answers these with 500/422 but retrying cannot help.
  "builtins.ValueError": fatal("invalid_request"),
  "builtins.TypeError": fatal("invalid_request"),
  "builtins.KeyError": fatal("invalid_request"),
  "werkzeug.exceptions.UnprocessableEntity": fatal("invalid_request"),
  "werkzeug.exceptions.BadRequest": fatal("invalid_request"),
  "werkzeug.exceptions.MethodNotAllowed": fatal("protocol"),
  "werkzeug.exceptions.UnsupportedMediaType": fatal("protocol"),
  // Odoo 18+: LockError is a UserError subclass with http_status 409; the others are the
  // PostgreSQL concurrency failures Odoo gives up retrying on.
  "odoo.exceptions.LockError": transient("lock"),
  "odoo.exceptions.ConcurrencyError": transient("lock"),
  "psycopg2.errors.SerializationFailure": transient("lock"),
  "psycopg2.errors.LockNotAvailable": transient("lock"),
  "psycopg2.errors.DeadlockDetected": transient("lock"),
  "psycopg2.extensions.TransactionRollbackError": transient("lock"),
  "werkzeug.exceptions.Conflict": transient("lock"),
  "werkzeug.exceptions.TooManyRequests": transient("rate_limited"),
};

// JSON-RPC reports an unknown model as a plain UserError (16–19 alike).
const UNKNOWN_MODEL_USER_ERROR = /^Object \S+ doesn't exist$/;
// 16/17: "type object 'res.partner' has no attribute 'x'"; 18/19: "The method 'm.x' does not exist".
const UNKNOWN_METHOD = /has no attribute|^The method '[^']+' does not exist|^Method not found: /;
const JSON2_UNKNOWN_MODEL = /^the model '[^']+' does not exist/;
const MISSING_DATABASE = /database "[^"]*" does not exist/;

export function classifyOdooError(input: ClassifyInput): Classification {
  const { name, message } = input;
  if (name === "odoo.exceptions.UserError") {
    return UNKNOWN_MODEL_USER_ERROR.test(message) ? fatal("unknown_model") : fatal("user_error");
  }
  if (name === "builtins.AttributeError" || name === "builtins.Exception") {
    if (UNKNOWN_METHOD.test(message)) return fatal("unknown_method");
  }
  if (name === "werkzeug.exceptions.NotFound") {
    if (JSON2_UNKNOWN_MODEL.test(message)) return fatal("unknown_model");
    if (UNKNOWN_METHOD.test(message)) return fatal("unknown_method");
    return fatal("protocol");
  }
  if (name === "psycopg2.OperationalError") {
    return MISSING_DATABASE.test(message) ? fatal("unknown_database") : transient("server");
  }
  const known = name === undefined ? undefined : BY_NAME[name];
  if (known) return known;
  return classifyByStatus(input);
}

function classifyByStatus({ transport, name, httpStatus }: ClassifyInput): Classification {
  if (transport === "network") return transient("network");
  if (httpStatus === 409) return transient("lock");
  if (httpStatus === 429) return transient("rate_limited");
  if (httpStatus === 408 || httpStatus === 425) return transient("server");
  if (httpStatus !== undefined && httpStatus >= 500) return transient("server");
  if (httpStatus === 401) return fatal("access_denied");
  if (httpStatus === 403) return fatal("access_error");
  // An unrecognised Odoo exception inside a 200 JSON-RPC envelope (e.g. a database hiccup):
  // assume transient; callers cap attempts anyway.
  if (name !== undefined) return transient("server");
  return fatal("protocol");
}
