import { setTimeout as sleep } from "node:timers/promises";

export interface BackoffPolicy {
  /** The first delay's ceiling. */
  initialMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with "equal jitter": the ceiling doubles per attempt; half of it is waited
 * for sure, the other half at random, so workers that lost the same API server do not come back
 * in step, and no retry comes at once.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (random() * ceiling) / 2;
}

/** Waits, or stops waiting when the signal aborts (without throwing). */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
