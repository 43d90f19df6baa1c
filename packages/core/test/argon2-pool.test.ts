import { describe, expect, it } from "vitest";
import { createArgon2Pool } from "../src/tokens/argon2.ts";
import { createSecretChecker, secretTagOf } from "../src/tokens/secret-check.ts";

const SECRET = "0123456789abcdef0123456789abcdef01234567";

describe("the argon2 pool", () => {
  it("sheds verifications past its queue with 503 + Retry-After instead of queueing them", async () => {
    const pool = createArgon2Pool({ maxConcurrent: 1, maxWaiting: 2 });
    const encoded = await pool.hashSecret(SECRET);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, () => pool.verifySecret(encoded, SECRET)),
    );
    expect(outcomes.slice(0, 3).map((outcome) => outcome.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    for (const outcome of outcomes.slice(3)) {
      expect(outcome).toMatchObject({ status: "rejected", reason: { statusCode: 503, retryAfter: 1 } });
    }
    expect(pool.stats()).toEqual({ verifications: 3, running: 0, waiting: 0 });
    // Once the queue drained, verifications run again.
    await expect(pool.verifySecret(encoded, SECRET)).resolves.toBe(true);
  });

  it("never sheds hashing (an admin issuing a token waits its turn)", async () => {
    const pool = createArgon2Pool({ maxConcurrent: 1, maxWaiting: 0 });
    const hashes = await Promise.all(Array.from({ length: 3 }, () => pool.hashSecret(SECRET)));
    expect(hashes.every((encoded) => encoded.startsWith("$argon2id$"))).toBe(true);
  });
});

describe("the secret checker", () => {
  it("refuses a wrong secret by its tag and an unknown id against a dummy, neither with argon2", async () => {
    const pool = createArgon2Pool({ maxConcurrent: 1 });
    const checker = createSecretChecker(pool);
    const stored = { secretHash: await pool.hashSecret(SECRET), secretTag: secretTagOf(SECRET) };
    const wrong = "f".repeat(40);
    expect(secretTagOf(wrong)).not.toBe(stored.secretTag);
    expect(await checker.matches("0123456789abcdef", stored, wrong)).toBe(false);
    expect(await checker.matches("fedcba9876543210", null, SECRET)).toBe(false);
    expect(pool.stats().verifications).toBe(0);
    expect(await checker.matches("0123456789abcdef", stored, SECRET)).toBe(true);
    expect(pool.stats().verifications).toBe(1);
  });

  it("decides tokens issued before tags by argon2 alone", async () => {
    const pool = createArgon2Pool({ maxConcurrent: 1 });
    const checker = createSecretChecker(pool);
    const legacy = { secretHash: await pool.hashSecret(SECRET), secretTag: null };
    expect(await checker.matches("0123456789abcdef", legacy, "e".repeat(40))).toBe(false);
    expect(await checker.matches("0123456789abcdef", legacy, SECRET)).toBe(true);
    expect(pool.stats().verifications).toBe(2);
  });

  it("runs argon2 once for concurrent checks of one token with one secret, and sheds another secret meanwhile", async () => {
    const pool = createArgon2Pool({ maxConcurrent: 1 });
    const checker = createSecretChecker(pool);
    const legacy = { secretHash: await pool.hashSecret(SECRET), secretTag: null };
    const same = Array.from({ length: 10 }, () => checker.matches("0123456789abcdef", legacy, SECRET));
    const other = checker
      .matches("0123456789abcdef", legacy, "d".repeat(40))
      .catch((error: unknown) => error);
    expect(await Promise.all(same)).toEqual(Array(10).fill(true));
    expect(await other).toMatchObject({ statusCode: 503, retryAfter: 1 });
    expect(pool.stats().verifications).toBe(1);
  });
});
