import { pyRepr } from "./py-json.ts";

const WERKZEUG_REASONS: Record<number, [string, string]> = {
  400: ["BadRequest", "Bad Request"],
  401: ["Unauthorized", "Unauthorized"],
  403: ["Forbidden", "Forbidden"],
  404: ["NotFound", "Not Found"],
  405: ["MethodNotAllowed", "Method Not Allowed"],
  409: ["Conflict", "Conflict"],
  415: ["UnsupportedMediaType", "Unsupported Media Type"],
  422: ["UnprocessableEntity", "Unprocessable Entity"],
  500: ["InternalServerError", "Internal Server Error"],
  503: ["ServiceUnavailable", "Service Unavailable"],
};

export function reasonPhrase(status: number): string {
  return WERKZEUG_REASONS[status]?.[1] ?? "Unknown";
}

interface FaultOptions {
  /** JSON-2 status; defaults to Odoo's `http_status` for the exception class. */
  httpStatus?: number;
  arguments?: unknown[];
  /** The last line of the traceback when it is not `<name>: <message>`. */
  debugLine?: string;
  /** AccessDenied hides its traceback (Odoo 19 sends only the last line). */
  suppressTraceback?: boolean;
  /** JSON-RPC `error.code`/`error.message` overrides (session expiry uses 100). */
  rpcCode?: number;
  rpcMessage?: string;
  /** Extra response headers (JSON-2 401 carries `WWW-Authenticate: Bearer `). */
  headers?: Record<string, string>;
}

/** A Python exception as Odoo would serialise it; thrown inside the fake, rendered per transport. */
export class OdooFault extends Error {
  readonly odooName: string;
  readonly options: FaultOptions;

  constructor(odooName: string, message: string, options: FaultOptions = {}) {
    super(message);
    this.odooName = odooName;
    this.options = options;
  }

  get arguments(): unknown[] {
    return this.options.arguments ?? [this.message];
  }

  /** UserError subclasses carry `http_status`; anything else is a 500 on JSON-2. */
  get httpStatus(): number {
    if (this.options.httpStatus !== undefined) return this.options.httpStatus;
    switch (this.odooName) {
      case "odoo.exceptions.AccessDenied":
      case "odoo.exceptions.AccessError":
        return 403;
      case "odoo.exceptions.MissingError":
        return 404;
      case "odoo.exceptions.LockError":
        return 409;
      case "odoo.exceptions.UserError":
      case "odoo.exceptions.ValidationError":
        return 422;
      default:
        return 500;
    }
  }

  debug(version: number): string {
    const shortName = this.odooName.replace(/^builtins\./, "");
    const last = this.options.debugLine ?? `${shortName}: ${this.message}`;
    if (this.options.suppressTraceback && version >= 19) return `${last}\n`;
    return [
      "Traceback (most recent call last):",
      '  File "/opt/fake-odoo/odoo/http.py", line 2138, in _serve_db',
      "    return service_model.retrying(self._serve_ir_http, self.env)",
      last,
      "",
    ].join("\n");
  }
}

export const fault = {
  accessDenied: () =>
    new OdooFault("odoo.exceptions.AccessDenied", "Access Denied", { suppressTraceback: true }),
  accessError: (message: string) => new OdooFault("odoo.exceptions.AccessError", message),
  missing: (message: string) => new OdooFault("odoo.exceptions.MissingError", message),
  validation: (message: string) => new OdooFault("odoo.exceptions.ValidationError", message),
  userError: (message: string) => new OdooFault("odoo.exceptions.UserError", message),
  lock: (message: string) => new OdooFault("odoo.exceptions.LockError", message),
  attributeError: (message: string) => new OdooFault("builtins.AttributeError", message),
  typeError: (message: string) => new OdooFault("builtins.TypeError", message),
  valueError: (message: string) => new OdooFault("builtins.ValueError", message),
  exception: (message: string) => new OdooFault("builtins.Exception", message),
  keyError: (key: string) =>
    new OdooFault("builtins.KeyError", key, { debugLine: `KeyError: ${pyRepr(key)}` }),
  operationalError: (message: string) => new OdooFault("psycopg2.OperationalError", message),
  sessionExpired: () =>
    new OdooFault("odoo.http.SessionExpiredException", "Session expired", {
      rpcCode: 100,
      rpcMessage: "Odoo Session Expired",
      httpStatus: 403,
    }),
  /** A werkzeug HTTPException raised by the JSON-2 controller. */
  http: (status: number, description: string, headers?: Record<string, string>) => {
    const [cls, reason] = WERKZEUG_REASONS[status] ?? ["HTTPException", "Unknown"];
    const name = `werkzeug.exceptions.${cls}`;
    return new OdooFault(name, description, {
      httpStatus: status,
      arguments: [description, status],
      debugLine: `${name}: ${status} ${reason}: ${description}`,
      ...(headers ? { headers } : {}),
    });
  },
};

/** The JSON-RPC error envelope: key order and `code` differ between 16–18 and 19. */
export function jsonRpcError(version: number, id: unknown, error: OdooFault): Record<string, unknown> {
  const base = { name: error.odooName };
  const tail = { message: error.message, arguments: error.arguments, context: {} };
  const data =
    version >= 19
      ? { ...base, ...tail, debug: error.debug(version) }
      : { ...base, debug: error.debug(version), ...tail };
  return {
    jsonrpc: "2.0",
    id: error.options.rpcCode === 100 ? null : (id ?? null),
    error: {
      code: error.options.rpcCode ?? (version >= 19 ? 0 : 200),
      message: error.options.rpcMessage ?? "Odoo Server Error",
      data,
    },
  };
}

/** The JSON-2 error body (Odoo 19's `serialize_exception`). */
export function json2Error(error: OdooFault): Record<string, unknown> {
  return {
    name: error.odooName,
    message: error.message,
    arguments: error.arguments,
    context: {},
    debug: error.debug(19),
  };
}
