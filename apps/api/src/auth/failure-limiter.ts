import { type Clock, type DomainError, tooManyRequests } from "@vwksp/core";
import { withTimeout } from "@vwksp/queue";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";

const WINDOW_MS = 60_000;
/** After Redis failed or did not answer in time, requests skip it for this long (fail open). */
const REDIS_BACKOFF_MS = 2_000;

/**
 * What a failed attempt counts against: the client address, and the identity the request
 * presented when it named one (a registration token's lookup id, an API key's prefix, the
 * cluster of a known but unusable credential).
 */
export interface FailureSubjects {
  address: string;
  identity?: string | undefined;
}

/**
 * Failed authentications per client address and per presented identity, in fixed one-minute
 * windows counted in Redis and shared by every API process.
 *
 * The limiter only decides how a *failure* is answered: the caller checks the credential first
 * and comes here only when it was refused, so a valid credential is never turned away, however
 * many failures its address or identity has (behind an ingress the whole fleet shares one
 * address). Each failure is one atomic INCR whose result decides the answer (the refusal up to the
 * limit, 429 past it), so a concurrent burst gets exactly `limitPerMinute` refusals per window and
 * subject, whatever the concurrency or the number of processes. Guessing the random secrets this
 * service issues is hopeless at any rate; what the limit protects is the work a guess costs and
 * the signal a refusal gives. Secrets a person chose (the Odoo webhook's) are also held back
 * while over the limit: `requireUnderLimit`.
 *
 * Redis is a helper, not a gate: a Redis error or a call slower than `redisTimeoutMs` fails open
 * (the refusal itself is still answered), and Redis is then left alone for a moment so an outage
 * costs each request nothing.
 */
export function createFailureLimiter(deps: {
  redis: Redis;
  /** Prefix of this limiter's keys; one limiter per kind of secret (agent, admin, webhook). */
  prefix: string;
  limitPerMinute: number;
  clock: Clock;
  redisTimeoutMs?: number;
}) {
  const redisTimeoutMs = deps.redisTimeoutMs ?? 1_000;
  /** Keys seen past the limit, until their window ends: answered without asking Redis again. */
  const overLimitUntil = new Map<string, number>();
  let redisSkippedUntil = 0;

  function windowAt(now: number) {
    const index = Math.floor(now / WINDOW_MS);
    return { index, end: (index + 1) * WINDOW_MS };
  }

  function keysOf(subjects: FailureSubjects, windowIndex: number): string[] {
    const base = `${deps.prefix}:${windowIndex}`;
    const keys = [`${base}:a:${subjects.address}`];
    if (subjects.identity) keys.push(`${base}:i:${subjects.identity}`);
    return keys;
  }

  const limited = (windowEnd: number, now: number) =>
    tooManyRequests(
      Math.max(1, Math.ceil((windowEnd - now) / 1000)),
      "too many failed attempts from this address or for this credential, retry later",
    );

  function knownOverLimit(keys: string[], now: number): boolean {
    return keys.some((key) => (overLimitUntil.get(key) ?? 0) > now);
  }

  function remember(keys: string[], counts: number[], windowEnd: number): boolean {
    const over = keys.filter((_, index) => (counts[index] ?? 0) > deps.limitPerMinute);
    if (over.length === 0) return false;
    if (overLimitUntil.size > 50_000) overLimitUntil.clear();
    for (const key of over) overLimitUntil.set(key, windowEnd);
    return true;
  }

  /** A Redis call bounded in time; undefined when Redis failed, was slow or is being left alone. */
  async function redisCall<T>(call: () => Promise<T>, log?: FastifyBaseLogger): Promise<T | undefined> {
    // Wall time, not the injected clock: a test that holds its clock still must not hold Redis off.
    if (Date.now() < redisSkippedUntil) return undefined;
    try {
      return await withTimeout(call(), redisTimeoutMs, "a Redis call of the failure limiter");
    } catch (error) {
      redisSkippedUntil = Date.now() + REDIS_BACKOFF_MS;
      log?.warn({ err: error }, "authentication failures are not limited for a moment: Redis unavailable");
      return undefined;
    }
  }

  async function increment(keys: string[], log?: FastifyBaseLogger) {
    const results = await redisCall(() => {
      const pipeline = deps.redis.pipeline();
      for (const key of keys) pipeline.incr(key).pexpire(key, WINDOW_MS * 2);
      return pipeline.exec();
    }, log);
    // Every other reply is the INCR's; a failed command reads as 0 (not counted, fail open).
    return results
      ?.filter((_, index) => index % 2 === 0)
      .map(([error, count]) => (error ? 0 : Number(count)));
  }

  /**
   * Counts a refused attempt against its subjects; answers with `refusal` while they are within
   * the limit and with 429 (Retry-After: the end of the window) once one of them is past it.
   */
  async function refuse(subjects: FailureSubjects, refusal: DomainError, log?: FastifyBaseLogger) {
    const now = deps.clock.now().getTime();
    const window = windowAt(now);
    const keys = keysOf(subjects, window.index);
    // A fixed window's count only grows: past the limit once, past it until the window ends.
    if (knownOverLimit(keys, now)) return limited(window.end, now);
    const counts = await increment(keys, log);
    if (counts && remember(keys, counts, window.end)) return limited(window.end, now);
    return refusal;
  }

  /** Throws 429 while a subject is past the limit, also for the right secret: no guess gets an answer. */
  async function requireUnderLimit(subjects: FailureSubjects, log?: FastifyBaseLogger) {
    const now = deps.clock.now().getTime();
    const window = windowAt(now);
    const keys = keysOf(subjects, window.index);
    if (knownOverLimit(keys, now)) throw limited(window.end, now);
    const counts = await redisCall(() => deps.redis.mget(...keys), log);
    if (counts && remember(keys, counts.map(Number), window.end)) throw limited(window.end, now);
  }

  return { refuse, requireUnderLimit };
}

export type FailureLimiter = ReturnType<typeof createFailureLimiter>;
