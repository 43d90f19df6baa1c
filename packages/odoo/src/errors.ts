import { classifyOdooError, type OdooErrorKind } from "./classify.ts";

export type { OdooErrorKind } from "./classify.ts";

/** Which layer produced the error: an Odoo JSON-RPC envelope, a JSON-2 answer, or the network. */
export type OdooTransport = "jsonrpc" | "json2" | "network";

export interface OdooErrorInit {
  transport: OdooTransport;
  /** Odoo's exception name (`data.name` in JSON-RPC, `name` in JSON-2); omitted for non-Odoo failures. */
  name?: string;
  message: string;
  httpStatus?: number;
  /** JSON-RPC `error.code`: 200 (Odoo 16–18), 0 (Odoo 19), 100 (session expired). */
  code?: number;
  arguments?: unknown[];
  debug?: string;
  model?: string;
  method?: string;
  /** Forces the classification (used where the client knows better than the envelope). */
  kind?: OdooErrorKind;
  retryable?: boolean;
  /** Secrets to scrub from every text the error carries. */
  secrets?: readonly string[];
  /** A sanitized description of the underlying failure (never the raw request). */
  cause?: { name: string; code?: string; message: string };
}

const REDACTED = "[REDACTED]";

/** The one error type of the Odoo client. Never carries the API key (see `scrubSecrets`). */
export class OdooError extends Error {
  override readonly name: string;
  readonly transport: OdooTransport;
  readonly httpStatus: number | undefined;
  readonly code: number | undefined;
  readonly arguments: unknown[];
  readonly debug: string | undefined;
  readonly kind: OdooErrorKind;
  readonly retryable: boolean;
  readonly model: string | undefined;
  readonly method: string | undefined;

  constructor(init: OdooErrorInit) {
    const secrets = init.secrets ?? [];
    const message = scrubSecrets(init.message, secrets);
    super(message, init.cause ? { cause: scrubSecrets(init.cause, secrets) } : undefined);
    this.name = init.name ?? "OdooError";
    this.transport = init.transport;
    this.httpStatus = init.httpStatus;
    this.code = init.code;
    this.arguments = scrubSecrets(init.arguments ?? [message], secrets);
    this.debug = init.debug === undefined ? undefined : scrubSecrets(init.debug, secrets);
    this.model = init.model;
    this.method = init.method;
    const classified = classifyOdooError({
      transport: init.transport,
      name: init.name,
      message,
      httpStatus: init.httpStatus,
    });
    this.kind = init.kind ?? classified.kind;
    this.retryable = init.retryable ?? classified.retryable;
  }

  /** What structured loggers print; leaves out the (long) traceback. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      retryable: this.retryable,
      transport: this.transport,
      httpStatus: this.httpStatus,
      code: this.code,
      model: this.model,
      method: this.method,
      arguments: this.arguments,
    };
  }
}

export function isOdooError(value: unknown): value is OdooError {
  return value instanceof OdooError;
}

/**
 * Replaces every occurrence of the secrets in strings, deeply. Odoo echoes request arguments in
 * some messages (TypeError, KeyError), and the JSON-RPC request itself carries the key.
 */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  const usable = secrets.filter((secret) => secret.length >= 4);
  if (usable.length === 0) return value;
  return scrubValue(value, usable) as T;
}

function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === "string") {
    let out = value;
    for (const secret of secrets) out = out.split(secret).join(REDACTED);
    return out;
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, secrets)]));
  }
  return value;
}
