import { type Clock, tooManyRequests } from "@vwksp/core";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";

const WINDOW_MS = 60_000;

/**
 * Counts failed registrations/authentications per client address in fixed one-minute windows
 * shared through Redis. Successful requests never touch Redis: each process keeps a local
 * "blocked until" list that it fills from the global count it sees on its own failures, so an
 * address is cut off at the limit (plus at most one attempt per extra API process).
 */
export function createFailureLimiter(deps: {
  redis: Redis;
  prefix: string;
  limitPerMinute: number;
  clock: Clock;
}) {
  const blockedUntil = new Map<string, number>();

  function windowOf(now: number) {
    const index = Math.floor(now / WINDOW_MS);
    return { index, end: (index + 1) * WINDOW_MS };
  }

  /** Throws 429 with Retry-After when the address used up its failures for this window. */
  function check(address: string) {
    const until = blockedUntil.get(address);
    if (until === undefined) return;
    const now = deps.clock.now().getTime();
    if (until <= now) {
      blockedUntil.delete(address);
      return;
    }
    throw tooManyRequests(
      Math.max(1, Math.ceil((until - now) / 1000)),
      "too many failed attempts from this address, retry later",
    );
  }

  async function recordFailure(address: string, log?: FastifyBaseLogger) {
    const now = deps.clock.now().getTime();
    const { index, end } = windowOf(now);
    const key = `${deps.prefix}:authfail:${index}:${address}`;
    try {
      const [[, count]] = (await deps.redis
        .multi()
        .incr(key)
        .pexpire(key, WINDOW_MS * 2)
        .exec()) as [[Error | null, number]];
      if (count >= deps.limitPerMinute) {
        if (blockedUntil.size > 50_000) blockedUntil.clear();
        blockedUntil.set(address, end);
      }
    } catch (error) {
      // Fail open: a Redis outage must not lock every agent out.
      log?.warn({ err: error }, "could not record an authentication failure");
    }
  }

  return { check, recordFailure };
}

export type FailureLimiter = ReturnType<typeof createFailureLimiter>;
