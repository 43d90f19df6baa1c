import { availableParallelism } from "node:os";
import { hash, verify } from "@node-rs/argon2";

// OWASP's argon2id parameters: m=19 MiB, t=2, p=1. @node-rs/argon2 runs both calls on the
// libuv thread pool, so hashing never blocks the event loop.
// algorithm 2 = Argon2id (a const enum the isolated-modules build cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

/**
 * At most one argon2 computation per spare core. Four pool threads hashing at once on a 2-core
 * machine starve the main thread (measured by bench/auth: event-loop delay p99 20 ms with 4 at
 * once, 6 ms with 1); queueing them costs register latency almost nothing.
 */
const MAX_CONCURRENT = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: (() => void)[] = [];

async function limited<T>(work: () => Promise<T>): Promise<T> {
  // A finishing computation hands its slot straight to the next in line.
  if (running < MAX_CONCURRENT) running += 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

export const hashSecret = (secret: string) => limited(() => hash(secret, OPTIONS));

export async function verifySecret(encoded: string, secret: string): Promise<boolean> {
  try {
    return await limited(() => verify(encoded, secret));
  } catch {
    return false;
  }
}
