import { timingSafeEqual } from "node:crypto";
import { unavailable } from "../errors.ts";
import { randomHex, sha256Hex } from "../hashing.ts";
import type { Argon2Pool } from "./argon2.ts";

/**
 * 24 bits of SHA-256(secret), stored next to the argon2id hash. A wrong secret is refused by this
 * tag without argon2 (all but one in 16.7 million), so guesses cost no argon2 work however many
 * arrive, and the limiter never has to turn away a right one to protect the argon2 pool. The
 * secret is 160 random bits: 24 bits of a fast hash leave 136 for anyone holding a database dump,
 * far beyond search, and argon2id still decides every secret that gets past the tag.
 */
export const secretTagOf = (secret: string) => sha256Hex(secret).slice(0, 6);

export interface StoredSecret {
  secretHash: string;
  /** Null for tokens issued before tags existed: those are decided by argon2 alone. */
  secretTag: string | null;
}

const sameTag = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Checks registration-token secrets: the tag first, then argon2id on the bounded pool.
 *
 * An unknown, used, revoked or expired token id is checked against a dummy secret in exactly the
 * same way, so the answer's timing does not tell whether an id is live. Concurrent checks of one
 * token id with the same secret share one argon2 run (an agent retrying, or many replicas racing
 * for one token); a different secret for an id already being checked is shed with 503, so one id
 * never holds more than one argon2 slot.
 */
export function createSecretChecker(pool: Argon2Pool) {
  const dummyTag = randomHex(3);
  // Needed only when a guess hits the dummy tag; made then, once.
  let dummyHash: Promise<string> | undefined;
  const inFlight = new Map<string, { digest: string; result: Promise<boolean> }>();

  function verifyOnce(tokenId: string, encoded: string, secret: string): Promise<boolean> {
    const digest = sha256Hex(secret);
    const running = inFlight.get(tokenId);
    if (running) {
      if (running.digest === digest) return running.result;
      throw unavailable("this registration token is being checked already, retry shortly", 1);
    }
    const result = pool.verifySecret(encoded, secret).finally(() => inFlight.delete(tokenId));
    inFlight.set(tokenId, { digest, result });
    return result;
  }

  /** True when `secret` is the secret of `stored`; `stored` null = no live token with that id. */
  async function matches(tokenId: string, stored: StoredSecret | null, secret: string): Promise<boolean> {
    const expectedTag = stored ? stored.secretTag : dummyTag;
    if (expectedTag !== null && !sameTag(secretTagOf(secret), expectedTag)) return false;
    if (!stored) {
      dummyHash ??= pool.hashSecret(randomHex(20));
      await verifyOnce(tokenId, await dummyHash, secret);
      return false;
    }
    return verifyOnce(tokenId, stored.secretHash, secret);
  }

  return { matches };
}

export type SecretChecker = ReturnType<typeof createSecretChecker>;
