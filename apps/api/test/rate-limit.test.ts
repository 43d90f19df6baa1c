import { formatRegistrationToken } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  createCluster,
  issueToken,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "20" } });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

describe("failed-authentication rate limit", () => {
  it("counts guessed admin keys apart from agent failures: 429 on the admin API only", async () => {
    const guesser = "203.0.113.50";
    const admin = (authorization: string) =>
      harness.app.inject({ url: "/api/v1/clusters", headers: { authorization }, remoteAddress: guesser });
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await admin("Bearer vwksp-key-a-guess-that-is-long-enough")).statusCode).toBe(401);
    }
    const limited = await admin(`Bearer ${key}`);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // Agents behind the same address are not locked out by it.
    const { credential } = await registeredCluster(harness, key);
    const agentCall = await harness.app.inject({
      method: "POST",
      url: "/api/agent/credentials/rotate",
      headers: agentHeaders(credential),
      payload: "{}",
      remoteAddress: guesser,
    });
    expect(agentCall.statusCode).toBe(200);
  });

  it("answers 429 with Retry-After once an address used up its failures, whatever kind they were", async () => {
    const attacker = "203.0.113.7";
    const cluster = await createCluster(harness, key);
    const { tokenId } = await issueToken(harness, key, cluster.id);
    const failures = [
      () => register(harness, "vwksp-reg-nonsense", undefined, attacker),
      () => register(harness, formatRegistrationToken(tokenId, "1".repeat(40)), undefined, attacker),
      () =>
        harness.app.inject({
          method: "POST",
          url: "/api/agent/credentials/rotate",
          headers: agentHeaders(`vwksp-agt-${"0".repeat(64)}`),
          payload: "{}",
          remoteAddress: attacker,
        }),
    ];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const response = await failures[attempt % failures.length]?.();
      expect(response?.statusCode, `attempt ${attempt + 1}`).toBe(401);
    }
    const limited = await register(harness, "vwksp-reg-nonsense", undefined, attacker);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: "rate_limited", requestId: expect.any(String) });
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);

    // A correct token from the limited address waits too: a guess that happens to be right must not get through.
    const { token } = await issueToken(harness, key, cluster.id);
    expect((await register(harness, token, cluster.id, attacker)).statusCode).toBe(429);
    // Another address is not affected.
    expect((await register(harness, token, cluster.id, "198.51.100.9")).statusCode).toBe(200);
  });

  it("does not count successful traffic", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    for (let i = 0; i < 40; i += 1) {
      const response = await harness.app.inject({
        url: `/api/agent/jobs?cluster=${cluster.id}&wait=0`,
        headers: agentHeaders(credential, false),
        remoteAddress: "192.0.2.44",
      });
      expect(response.statusCode).toBe(200);
    }
  });
});
