import { AgentApiError, ProtocolError, TransportError } from "./errors.ts";

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;

/**
 * Full jitter between 1 s and an exponentially growing ceiling capped at 60 s: many agents
 * retrying after one outage spread out instead of arriving together, and no retry comes sooner
 * than the contract's 1 s.
 */
export function backoffDelay(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));
  return BACKOFF_BASE_MS + random() * (ceiling - BACKOFF_BASE_MS);
}

/** The server's `Retry-After` wins on 429 and 503 (never below 1 s); otherwise backoff. */
export function retryDelay(error: unknown, attempt: number, random: () => number): number {
  if (
    error instanceof AgentApiError &&
    (error.status === 429 || error.status === 503) &&
    error.retryAfterMs !== undefined
  ) {
    return Math.max(error.retryAfterMs, BACKOFF_BASE_MS);
  }
  return backoffDelay(attempt, random);
}

/** `Retry-After` is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}

export type FailureKind = "retry" | "unauthorized" | "forbidden" | "fatal";

/** What the agent does about a failed call, per the contract's status table. */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof AgentApiError) {
    if (error.status === 401) return "unauthorized";
    if (error.status === 403) return "forbidden";
    if (error.status === 408 || error.status === 429 || error.status >= 500) return "retry";
    return "fatal";
  }
  if (error instanceof TransportError || error instanceof ProtocolError) return "retry";
  return "fatal";
}
