/** A non-2xx answer of the control plane, carrying its `{error, message, requestId}` envelope. */
export class AgentApiError extends Error {
  override readonly name = "AgentApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly serverMessage: string,
    readonly requestId?: string,
    /** From `Retry-After` (seconds or an HTTP date), when the server sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(`${status} ${code}: ${serverMessage}${requestId ? ` (request ${requestId})` : ""}`);
  }
}

/** The request got no HTTP answer: refused connection, reset, DNS failure or client timeout. */
export class TransportError extends Error {
  override readonly name = "TransportError";
}

/** A 2xx answer that breaks the protocol (unexpected status or a body the schema refuses). */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

/** A server-side apply the API server refused because another field manager owns the fields. */
export class ApplyConflictError extends Error {
  override readonly name = "ApplyConflictError";
}

/** A job payload the agent cannot act on; reported as a `failed` result. */
export class InvalidJobError extends Error {
  override readonly name = "InvalidJobError";
}

export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));
