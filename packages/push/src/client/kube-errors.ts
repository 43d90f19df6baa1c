import { ApiException } from "@kubernetes/client-node";

/** Why a request got no HTTP answer. */
export type TransportReason = "Unreachable" | "TLSError" | "Timeout" | "ConnectionReset" | "Closed";

/** No HTTP answer: refused, unresolvable, TLS failure, reset, timed out, or our client was closed. */
export class KubeTransportError extends Error {
  override readonly name = "KubeTransportError";
  constructor(
    readonly reason: TransportReason,
    message: string,
    /** The system error code (ECONNREFUSED, CERT_HAS_EXPIRED, …) when there was one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** An HTTP answer that is not a success, with what its `Status` body said. */
export class KubeStatusError extends Error {
  override readonly name = "KubeStatusError";
  constructor(
    readonly statusCode: number,
    /** The Status `reason` (NotFound, Conflict, AlreadyExists, Forbidden, …), when the body had one. */
    readonly reason: string | undefined,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
]);
const RESET = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"]);
const isTlsCode = (code: string) =>
  /^(CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_|SELF_SIGNED_|DEPTH_ZERO_)/.test(code) ||
  ["HOSTNAME_MISMATCH", "EPROTO"].includes(code);

/** Reads a `Status` body however a client handed it over (text, parsed, or dropped, as on 401). */
export function statusFromBody(code: number, body: unknown): KubeStatusError {
  let status: Record<string, unknown> = {};
  try {
    const parsed = typeof body === "string" ? JSON.parse(body) : body;
    if (typeof parsed === "object" && parsed !== null) status = parsed as Record<string, unknown>;
  } catch {
    // A proxy's HTML page: the code alone has to do.
  }
  const details = (status.details ?? {}) as { retryAfterSeconds?: unknown };
  const message = typeof status.message === "string" && status.message ? status.message : `HTTP ${code}`;
  return new KubeStatusError(
    code,
    typeof status.reason === "string" ? status.reason : undefined,
    message,
    typeof details.retryAfterSeconds === "number" ? details.retryAfterSeconds : undefined,
  );
}

const errorCode = (error: unknown): string => {
  const record = error as { code?: unknown; errno?: unknown; cause?: { code?: unknown } };
  const code = record.code ?? record.errno ?? record.cause?.code;
  return typeof code === "string" ? code : "";
};

/**
 * One shape for every failure of a call to the API server, from client-node's typed calls and
 * from the package's own streaming requests. Anything else (a bug) comes back unchanged.
 * `closed` says whether our client was closed, which makes an abort ours rather than a timeout.
 */
export function toKubeError(error: unknown, server: string, closed: boolean): Error {
  if (error instanceof KubeStatusError || error instanceof KubeTransportError) return error;
  if (error instanceof ApiException) return statusFromBody(error.code, error.body);
  const name = (error as { name?: unknown }).name;
  const code = errorCode(error);
  if (name === "AbortError" || name === "TimeoutError" || code === "ABORT_ERR") {
    return closed
      ? new KubeTransportError("Closed", "the cluster client was closed")
      : new KubeTransportError("Timeout", `no answer from the API server at ${server} in time`);
  }
  if (isTlsCode(code)) {
    return new KubeTransportError(
      "TLSError",
      `TLS with the API server at ${server} failed (${code}): the certificate does not match the kubeconfig's certificate authority or server name`,
      code,
    );
  }
  if (UNREACHABLE.has(code)) {
    return new KubeTransportError("Unreachable", `cannot reach the API server at ${server} (${code})`, code);
  }
  if (RESET.has(code) || /socket hang up|aborted/i.test(String((error as Error).message))) {
    return new KubeTransportError(
      "ConnectionReset",
      `the connection to the API server at ${server} was cut`,
      code || undefined,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
