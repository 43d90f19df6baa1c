/**
 * What a failed dependency call means, decided once here; the HTTP layer only maps the class to
 * a status (apps/api/src/http/errors.ts) and the batchers decide what to retry from it.
 */

/**
 * The SQLSTATE PostgreSQL reported, if the error came from the server at all: from
 * node-postgres (the hot path), or from Prisma's driver adapter — wrapped in a Prisma error, or
 * bare as Prisma's transaction manager rethrows it from BEGIN, COMMIT or ROLLBACK.
 */
export function sqlStateOf(error: unknown): string | undefined {
  type AdapterError = { cause?: { originalCode?: unknown } };
  const wrapped = error as { meta?: { driverAdapterError?: AdapterError }; name?: unknown } | null;
  const adapterError =
    wrapped?.meta?.driverAdapterError ??
    (wrapped?.name === "DriverAdapterError" ? (wrapped as AdapterError) : undefined);
  const fromPrisma = adapterError?.cause?.originalCode;
  if (typeof fromPrisma === "string") return fromPrisma;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Errors that can be down to one row or value of a batched statement — a value no column holds
 * (class 22), a constraint (23), a deadlock or serialization failure (40P01, 40001), a row lock
 * not granted in time (55P03) — so the batch's items are worth running one by one.
 */
export function isPerItemSqlError(error: unknown): boolean {
  const state = sqlStateOf(error) ?? "";
  return /^2[23]/.test(state) || ["40P01", "40001", "55P03"].includes(state);
}

/**
 * The database cannot be reached or answer at all (no SQLSTATE: a connection or driver error;
 * or class 08 connection exception, 53 insufficient resources, 57P shutdown): statements
 * waiting behind the failed one would fail the same way.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state === undefined || /^(08|53|57P)/.test(state);
}

/**
 * PostgreSQL refusing the service's connection rather than one request: a connection exception
 * (class 08), the server shutting down (57P01–57P03), a database or role that does not exist or
 * a password it rejects (3D000, 28xxx), too many connections (53300).
 */
const CONNECTION_REFUSED_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|3D000|28[0-9A-Z]{3}|53300)$/;
/** Prisma's names for the same: authentication failed, database missing, access denied, closed. */
const PRISMA_CONNECTION_CODES = /\b(P1000|P1001|P1002|P1003|P1010|P1017|P2024)\b/;
/** The same from the drivers (pg, ioredis, Prisma's adapter) that carry no SQLSTATE. */
const OUTAGE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection is closed|connect ECONN|timeout exceeded when trying to connect|Can't reach database|DatabaseNotReachable|DatabaseDoesNotExist|DatabaseAccessDenied|AuthenticationFailed|too many clients|the database system is (starting|shutting) up|Stream isn't writeable|MaxRetriesPerRequest|Query read timeout|Connection terminated|not queryable|Command timed out/i;
/** A row lock not granted in time, a statement cut off, a deadlock, a serialization failure. */
const CONTENTION_SQLSTATES = new Set(["55P03", "57014", "40P01", "40001"]);

/**
 * - `bad-value`: the request carried a value no column holds (SQLSTATE class 22: a NUL
 *   character, an unrepresentable escape, a value out of range) — the client's fault;
 * - `busy`: Prisma could not start a transaction in time (no pooled connection came free) or the
 *   transaction ran out of its time (P2028) — too much at once;
 * - `contention`: another statement held what this one needed — retrying will do;
 * - `outage`: PostgreSQL or Redis cannot be reached or refuses the service's connection;
 * - `undefined`: not a dependency's answer at all.
 */
export type DependencyFailure = "bad-value" | "busy" | "contention" | "outage";

export function classifyDependencyError(error: unknown): DependencyFailure | undefined {
  const state = sqlStateOf(error) ?? "";
  if (/^22[0-9A-Z]{3}$/.test(state)) return "bad-value";
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error | null)?.message ?? "";
  if (code === "P2028" || /Unable to start a transaction|Transaction already closed/.test(message))
    return "busy";
  if (CONTENTION_SQLSTATES.has(state)) return "contention";
  if (CONNECTION_REFUSED_SQLSTATE.test(state)) return "outage";
  const text = `${code ?? ""} ${message}`;
  if (PRISMA_CONNECTION_CODES.test(text) || OUTAGE_MESSAGES.test(text)) return "outage";
  return undefined;
}
