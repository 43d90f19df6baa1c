import { createArgon2Pool } from "@vwksp/core";
import { formatRegistrationToken } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster, issueToken, register } from "../../../test/support/fixtures.ts";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
// One argon2 at a time and one waiting: the smallest queue, so a burst overflows it.
const argon2 = createArgon2Pool({ maxConcurrent: 1, maxWaiting: 1 });

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, argon2, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "10000" } });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe("argon2 work under load", () => {
  it("sheds registrations past the bounded argon2 queue with 503 + Retry-After; retried, each registers", async () => {
    const clusters = await Promise.all(Array.from({ length: 8 }, () => createCluster(harness, key)));
    const tokens = [];
    for (const cluster of clusters)
      tokens.push({ clusterId: cluster.id, ...(await issueToken(harness, key, cluster.id)) });

    const first = await Promise.all(
      tokens.map(({ token, clusterId }) => register(harness, token, clusterId)),
    );
    const shed = first.filter((answer) => answer.statusCode === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(first.every((answer) => answer.statusCode === 200 || answer.statusCode === 503)).toBe(true);
    for (const answer of shed) {
      expect(answer.headers["retry-after"]).toBe("1");
      expect(answer.json()).toMatchObject({ error: "unavailable", requestId: expect.any(String) });
    }
    // A shed token was not used up: the agent's retry registers.
    for (const [index, answer] of first.entries()) {
      if (answer.statusCode === 200) continue;
      const { token, clusterId } = tokens[index] ?? { token: "", clusterId: "" };
      expect((await register(harness, token, clusterId)).statusCode).toBe(200);
    }
  });
});

describe("what the answer's timing tells", () => {
  it("answers an unknown token id as fast as a live id with a wrong secret (medians within 10 ms)", async () => {
    const cluster = await createCluster(harness, key);
    const { tokenId } = await issueToken(harness, key, cluster.id);
    const wrongSecret = formatRegistrationToken(tokenId, "4".repeat(40));
    const unknownId = formatRegistrationToken("00000000deadbeef", "4".repeat(40));
    const timed = async (token: string) => {
      const started = process.hrtime.bigint();
      const answer = await register(harness, token);
      expect(answer.statusCode).toBe(401);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const live: number[] = [];
    const unknown: number[] = [];
    // Interleaved, so a moment of load on a shared machine falls on both alike.
    for (let round = 0; round < 30; round += 1) {
      live.push(await timed(wrongSecret));
      unknown.push(await timed(unknownId));
    }
    // Before, a live id cost an argon2 run (~20 ms more); bench/register-timing.ts prints the figures.
    expect(Math.abs(median(live) - median(unknown))).toBeLessThan(10);
  });
});
