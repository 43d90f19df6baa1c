/**
 * A failure with a meaning for the caller: it carries the HTTP status and the machine code of the
 * protocol's error envelope. Anything else that escapes a request is an internal error (500).
 */
export class DomainError extends Error {
  override readonly name = "DomainError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Seconds, for 429 and 503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new DomainError(400, code, message);
export const unauthorized = (message = "missing or invalid credentials") =>
  new DomainError(401, "unauthorized", message);
export const forbidden = (code: string, message: string) => new DomainError(403, code, message);
export const notFound = (message = "not found") => new DomainError(404, "not_found", message);
export const conflict = (code: string, message: string) => new DomainError(409, code, message);
export const tooManyRequests = (retryAfter: number, message = "too many failed attempts") =>
  new DomainError(429, "rate_limited", message, retryAfter);
export const unavailable = (message: string, retryAfter = 5) =>
  new DomainError(503, "unavailable", message, retryAfter);
