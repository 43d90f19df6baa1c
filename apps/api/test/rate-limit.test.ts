import { argon2Pool, manualClock } from "@vwksp/core";
import { formatRegistrationToken } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  createCluster,
  issueToken,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";

// Held still in the middle of a one-minute window: no test straddles two windows.
const clock = manualClock(new Date("2026-11-27T08:00:30Z"));
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "20" } });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const UNKNOWN_CREDENTIAL = `vwksp-agt-${"0".repeat(64)}`;

const pollAs = (clusterId: string, credential: string, remoteAddress: string) =>
  harness.app.inject({
    url: `/api/agent/jobs?cluster=${clusterId}&wait=0`,
    headers: agentHeaders(credential, false),
    remoteAddress,
  });

const listClustersAs = (apiKey: string, remoteAddress: string) =>
  harness.app.inject({ url: "/api/v1/clusters", headers: adminHeaders(apiKey), remoteAddress });

const statuses = (responses: { statusCode: number }[]) => {
  const counts: Record<number, number> = {};
  for (const { statusCode } of responses) counts[statusCode] = (counts[statusCode] ?? 0) + 1;
  return counts;
};

function expectRateLimited(response: {
  statusCode: number;
  headers: Record<string, unknown>;
  json(): unknown;
}) {
  expect(response.statusCode).toBe(429);
  expect(response.json()).toMatchObject({ error: "rate_limited", requestId: expect.any(String) });
  const retryAfter = Number(response.headers["retry-after"]);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe("an attack from the address the fleet shares", () => {
  it("answers its failures 401 up to the limit and 429 past it, but still serves every valid credential", async () => {
    const ingress = "203.0.113.7";
    const { cluster, credential } = await registeredCluster(harness, key);
    const waiting = await createCluster(harness, key);
    const { token } = await issueToken(harness, key, waiting.id);

    const failures = [
      () => register(harness, "vwksp-reg-nonsense", undefined, ingress),
      () => pollAs(cluster.id, UNKNOWN_CREDENTIAL, ingress),
      () =>
        register(harness, formatRegistrationToken("0123456789abcdef", "1".repeat(40)), undefined, ingress),
    ];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await failures[attempt % 3]?.())?.statusCode, `attempt ${attempt + 1}`).toBe(401);
    }
    expectRateLimited(await register(harness, "vwksp-reg-nonsense", undefined, ingress));
    expectRateLimited(await pollAs(cluster.id, UNKNOWN_CREDENTIAL, ingress));

    // The same address, valid credentials: the agent polls, a new cluster registers.
    expect((await pollAs(cluster.id, credential, ingress)).statusCode).toBe(200);
    expect((await register(harness, token, waiting.id, ingress)).statusCode).toBe(200);
  });

  it("still serves the real admin key after 25 guessed keys from its address, and counts those apart from agents", async () => {
    const ingress = "203.0.113.50";
    for (let attempt = 0; attempt < 20; attempt += 1) {
      expect((await listClustersAs(`vwksp-key-guess-${attempt}-long-enough-x`, ingress)).statusCode).toBe(
        401,
      );
    }
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expectRateLimited(await listClustersAs(`vwksp-key-guess-more-${attempt}-long-enough`, ingress));
    }
    expect((await listClustersAs(key, ingress)).statusCode).toBe(200);
    // Admin-key failures do not change how the agents' failures at that address are answered.
    const { cluster } = await registeredCluster(harness, key);
    expect((await pollAs(cluster.id, UNKNOWN_CREDENTIAL, ingress)).statusCode).toBe(401);
  });

  it("does not count successful traffic", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    for (let i = 0; i < 40; i += 1) {
      expect((await pollAs(cluster.id, credential, "192.0.2.44")).statusCode).toBe(200);
    }
    expect((await pollAs(cluster.id, UNKNOWN_CREDENTIAL, "192.0.2.44")).statusCode).toBe(401);
  });
});

describe("failures per presented identity", () => {
  const addresses = (count: number, base: string) =>
    Array.from({ length: count }, (_, index) => `${base}.${index + 1}`);

  it("limits wrong secrets for one registration token from many addresses; its right secret still registers", async () => {
    const cluster = await createCluster(harness, key);
    const { token, tokenId } = await issueToken(harness, key, cluster.id);
    const guess = formatRegistrationToken(tokenId, "2".repeat(40));
    const answers = [];
    for (const address of addresses(25, "198.51.100"))
      answers.push(await register(harness, guess, undefined, address));
    expect(answers.slice(0, 20).every((answer) => answer.statusCode === 401)).toBe(true);
    for (const answer of answers.slice(20)) expectRateLimited(answer);
    expect((await register(harness, token, cluster.id, "198.51.100.99")).statusCode).toBe(200);
  });

  it("limits one API key prefix presented from many addresses; the real key is still served", async () => {
    // Same first characters as the real key, as someone who saw it truncated might try.
    const lookalike = `${key.slice(0, "vwksp-key-".length + 8)}-not-the-real-one`;
    const answers = [];
    for (const address of addresses(25, "198.51.101")) answers.push(await listClustersAs(lookalike, address));
    expect(answers.slice(0, 20).every((answer) => answer.statusCode === 401)).toBe(true);
    for (const answer of answers.slice(20)) expectRateLimited(answer);
    expect((await listClustersAs(key, "198.51.101.1")).statusCode).toBe(200);
  });

  it("limits a dead credential of a cluster from many addresses; the cluster's live credential is still served", async () => {
    const { cluster, credential: revoked } = await registeredCluster(harness, key);
    const revocation = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
    });
    expect(revocation.statusCode).toBe(204);
    const { token } = await issueToken(harness, key, cluster.id);
    const live = (await register(harness, token, cluster.id)).json().token as string;

    const answers = [];
    for (const address of addresses(25, "198.51.102"))
      answers.push(await pollAs(cluster.id, revoked, address));
    expect(answers.slice(0, 20).every((answer) => answer.statusCode === 401)).toBe(true);
    for (const answer of answers.slice(20)) expectRateLimited(answer);
    expect((await pollAs(cluster.id, live, "198.51.102.1")).statusCode).toBe(200);
  });
});

describe("a concurrent burst", () => {
  it("gets exactly the limit of 401s for 300 bad credentials at once, the rest 429", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const burst = await Promise.all(
      Array.from({ length: 300 }, (_, index) =>
        pollAs(cluster.id, `vwksp-agt-${index.toString(16).padStart(64, "a")}`, "203.0.113.90"),
      ),
    );
    expect(statuses(burst)).toEqual({ 401: 20, 429: 280 });
    expect(
      burst.filter((answer) => answer.statusCode === 429).every((a) => Number(a.headers["retry-after"]) >= 1),
    ).toBe(true);
  });

  it("runs no argon2 for 250 wrong secrets of a live token, and registers its holder in the middle of them", async () => {
    const cluster = await createCluster(harness, key);
    const { token, tokenId } = await issueToken(harness, key, cluster.id);
    const before = argon2Pool.stats().verifications;
    const guesses = Array.from({ length: 250 }, (_, index) =>
      register(
        harness,
        formatRegistrationToken(tokenId, index.toString(16).padStart(40, "3")),
        undefined,
        "203.0.113.91",
      ),
    );
    const holder = register(harness, token, cluster.id, "203.0.113.91");
    const answers = await Promise.all(guesses);
    expect((await holder).statusCode).toBe(200);
    // Only the holder's secret got past its tag to argon2.
    expect(argon2Pool.stats().verifications - before).toBe(1);
    expect(statuses(answers)).toEqual({ 401: 20, 429: 230 });
  });
});
