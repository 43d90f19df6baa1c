import { hash, verify } from "@node-rs/argon2";

// OWASP's argon2id parameters: m=19 MiB, t=2, p=1. @node-rs/argon2 runs both calls on the
// libuv thread pool, so hashing never blocks the event loop.
// algorithm 2 = Argon2id (a const enum the isolated-modules build cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

export const hashSecret = (secret: string) => hash(secret, OPTIONS);

export async function verifySecret(encoded: string, secret: string): Promise<boolean> {
  try {
    return await verify(encoded, secret);
  } catch {
    return false;
  }
}
