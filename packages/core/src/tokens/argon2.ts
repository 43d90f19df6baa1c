import { availableParallelism } from "node:os";
import { hash, verify } from "@node-rs/argon2";
import { unavailable } from "../errors.ts";

// OWASP's argon2id parameters: m=19 MiB, t=2, p=1. @node-rs/argon2 runs both calls on the
// libuv thread pool, so hashing never blocks the event loop.
// algorithm 2 = Argon2id (a const enum the isolated-modules build cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

/**
 * At most one argon2 computation per spare core. Four pool threads hashing at once on a 2-core
 * machine starve the main thread (measured by bench/auth: event-loop delay p99 20 ms with 4 at
 * once, 6 ms with 1); queueing them costs register latency almost nothing.
 */
const DEFAULT_MAX_CONCURRENT = Math.max(1, availableParallelism() - 1);
/** Verifications allowed to wait per running one: about half a second of work (~25 ms each). */
const WAITING_PER_SLOT = 20;

/**
 * Runs argon2 with bounded concurrency and a bounded queue. A verification that finds the queue
 * full is shed with 503 + Retry-After (the agent retries), so a burst never builds seconds of work
 * in front of the registrations behind it. Hashing (an admin issuing a token) waits instead.
 */
export function createArgon2Pool(options: { maxConcurrent?: number; maxWaiting?: number } = {}) {
  const maxConcurrent = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const maxWaiting = options.maxWaiting ?? maxConcurrent * WAITING_PER_SLOT;
  let running = 0;
  let verifications = 0;
  const waiting: (() => void)[] = [];

  async function limited<T>(work: () => Promise<T>, shed: boolean): Promise<T> {
    // A finishing computation hands its slot straight to the next in line.
    if (running < maxConcurrent) running += 1;
    else if (shed && waiting.length >= maxWaiting)
      throw unavailable("too many registrations are being verified right now, retry shortly", 1);
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  }

  const hashSecret = (secret: string) => limited(() => hash(secret, OPTIONS), false);

  async function verifySecret(encoded: string, secret: string): Promise<boolean> {
    return limited(async () => {
      verifications += 1;
      try {
        return await verify(encoded, secret);
      } catch {
        return false;
      }
    }, true);
  }

  /** Verifications started so far, and the queue right now. */
  const stats = () => ({ verifications, running, waiting: waiting.length });

  return { hashSecret, verifySecret, stats };
}

export type Argon2Pool = ReturnType<typeof createArgon2Pool>;

/** The process's pool: libuv's thread pool is one per process, so is its bound. */
export const argon2Pool = createArgon2Pool();
export const { hashSecret, verifySecret } = argon2Pool;
