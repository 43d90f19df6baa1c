import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";

const SECRET = "webhook-secret-for-limit-tests";

// Held still in the middle of a one-minute window: no test straddles two windows.
const clock = manualClock(new Date("2026-11-27T08:00:30Z"));
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  env = await createTestEnv();
  // The bridge stays off: a right secret is answered 409 odoo_disabled, past the secret check.
  harness = await createTestApp({
    env,
    clock,
    configOverrides: { ODOO_WEBHOOK_SECRET: SECRET, AUTH_FAILURE_LIMIT_PER_MINUTE: "20" },
  });
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const webhook = (secret: string, remoteAddress: string) =>
  harness.app.inject({
    method: "POST",
    url: `/api/v1/odoo/webhook?secret=${encodeURIComponent(secret)}`,
    payload: { _model: "vws.cluster", _id: 7 },
    remoteAddress,
  });

const countByStatus = (answers: { statusCode: number }[]) => {
  const counts: Record<number, number> = {};
  for (const { statusCode } of answers) counts[statusCode] = (counts[statusCode] ?? 0) + 1;
  return counts;
};

describe("the Odoo webhook secret", () => {
  it("is limited like every other secret: 300 concurrent guesses get 20 answers, the rest 429", async () => {
    const guesses = await Promise.all(
      Array.from({ length: 300 }, (_, index) => webhook(`guess-${index}`, "203.0.113.20")),
    );
    expect(countByStatus(guesses)).toEqual({ 401: 20, 429: 280 });
    const limited = guesses.find((answer) => answer.statusCode === 429);
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(limited?.json()).toMatchObject({ error: "rate_limited", requestId: expect.any(String) });
  });

  it("gives a guesser past the limit no answer, not even for the right secret", async () => {
    // The secret is one a person chose: a 2xx among the 429s would give it away.
    expect((await webhook(SECRET, "203.0.113.20")).statusCode).toBe(429);
  });

  it("counts guesses from many addresses together, so they cannot share out the guessing", async () => {
    // The previous test used up the secret's own budget for this window.
    const fresh = await webhook("another-guess", "198.51.100.33");
    expect(fresh.statusCode).toBe(429);
  });
});

describe("Odoo's own calls", () => {
  it("are never counted: 40 right calls in a row from one address all pass", async () => {
    const calm = await createTestApp({
      env,
      clock,
      configOverrides: {
        ODOO_WEBHOOK_SECRET: SECRET,
        AUTH_FAILURE_LIMIT_PER_MINUTE: "20",
        REDIS_PREFIX: `${env.redis.prefix}-calm`,
      },
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, () =>
          calm.app.inject({
            method: "POST",
            url: `/api/v1/odoo/webhook?secret=${SECRET}`,
            payload: { _model: "vws.cluster", _id: 7 },
            remoteAddress: "192.0.2.80",
          }),
        ),
      );
      expect(countByStatus(answers)).toEqual({ 409: 40 });
    } finally {
      await calm.close();
    }
  });
});
