import type { JobResultBody } from "@vwksp/protocol";
import { KubeStatusError, KubeTransportError, type TransportReason } from "../client/kube-errors.ts";
import { InvalidJobError } from "./payloads.ts";

/** Why a job could not be carried out now but may succeed later. */
export type RetryReason = TransportReason | "Unauthorized" | "ServerError" | "TooManyRequests";

/**
 * The job was not carried out (or its effect is unknown) for a reason that may pass: the API
 * server unreachable, timing out, cutting the connection or answering 5xx or 429, the credential
 * refused (401) or TLS failing. Retry with backoff (at least `retryAfterMs` when set); every
 * job kind is safe to repeat. Unreachable, TLSError and Unauthorized are the cluster's trouble,
 * not the job's: the caller may re-validate the cluster instead of burning the job's retries.
 */
export class PushRetryableError extends Error {
  override readonly name = "PushRetryableError";
  readonly retryable = true;
  constructor(
    readonly reason: RetryReason,
    message: string,
    readonly statusCode?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const MAX_ERROR_LENGTH = 32_768;
const bounded = (text: string) =>
  text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;

/**
 * The job's result for a failure, or a PushRetryableError thrown for one that may pass:
 * 409 is `conflict` (a field another manager owns, or a resourceVersion that moved) with the API
 * server's message, naming the manager; 400, 403, 404, 405, 410, 415 and 422 are `failed` with
 * the API server's message; 401, 429 and 5xx, and no answer at all, are retryable.
 */
export function settleFailure(error: unknown, timestamp: string): JobResultBody {
  if (error instanceof InvalidJobError)
    return { outcome: "failed", error: bounded(error.message), timestamp };
  if (error instanceof KubeTransportError) throw new PushRetryableError(error.reason, error.message);
  if (!(error instanceof KubeStatusError)) throw error;
  const { statusCode } = error;
  if (statusCode === 409) return { outcome: "conflict", error: bounded(error.message), timestamp };
  if (statusCode === 401) {
    throw new PushRetryableError(
      "Unauthorized",
      "the API server refused the cluster's credentials (401 Unauthorized)",
      statusCode,
    );
  }
  if (statusCode === 429 || statusCode >= 500) {
    const retryAfterMs = error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000;
    throw new PushRetryableError(
      statusCode === 429 ? "TooManyRequests" : "ServerError",
      `the API server answered ${statusCode}: ${error.message}`,
      statusCode,
      retryAfterMs,
    );
  }
  return { outcome: "failed", error: bounded(error.message), timestamp };
}

export const isPushRetryable = (error: unknown): error is PushRetryableError =>
  error instanceof PushRetryableError;
