import { loadConfig, manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { register } from "../../../test/support/fixtures.ts";

// Held still in the middle of a one-minute window: no test straddles two windows.
const clock = manualClock(new Date("2026-11-27T08:00:30Z"));
let env: TestEnv;
const apps: Awaited<ReturnType<typeof createTestApp>>[] = [];

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await env?.close();
});

async function appTrusting(trustProxy: string) {
  const harness = await createTestApp({
    env,
    clock,
    configOverrides: { TRUST_PROXY: trustProxy, AUTH_FAILURE_LIMIT_PER_MINUTE: "5" },
    beforeReady: (app) => app.get("/test/client-address", async (request) => ({ ip: request.ip })),
  });
  apps.push(harness);
  return harness;
}

const addressSeen = async (
  harness: Awaited<ReturnType<typeof appTrusting>>,
  remoteAddress: string,
  forwardedFor?: string,
) => {
  const response = await harness.app.inject({
    url: "/test/client-address",
    remoteAddress,
    ...(forwardedFor ? { headers: { "x-forwarded-for": forwardedFor } } : {}),
  });
  return (response.json() as { ip: string }).ip;
};

describe("TRUST_PROXY", () => {
  it("parses false, true, a hop count and a list of addresses and ranges, and refuses anything else", () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 192.0.2.1,loopback,fd00::/8" }).TRUST_PROXY).toEqual([
      "10.0.0.0/8",
      "192.0.2.1",
      "loopback",
      "fd00::/8",
    ]);
    for (const wrong of ["0", "yes", "10.0.0.0/33", "10.0.0/8", "300.1.1.1", "10.0.0.0/8/1"]) {
      expect(() => loadConfig({ TRUST_PROXY: wrong }), wrong).toThrow(/TRUST_PROXY/);
    }
  });

  it("false: the socket's address, whatever X-Forwarded-For says", async () => {
    const harness = await appTrusting("false");
    expect(await addressSeen(harness, "192.0.2.10", "198.51.100.1")).toBe("192.0.2.10");
  });

  it("a hop count: the entry that many hops from the socket, not the client-chosen left-most one", async () => {
    const one = await appTrusting("1");
    expect(await addressSeen(one, "10.0.0.1", "1.1.1.1, 203.0.113.9")).toBe("203.0.113.9");
    expect(await addressSeen(one, "10.0.0.1")).toBe("10.0.0.1");
    const two = await appTrusting("2");
    expect(await addressSeen(two, "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.2")).toBe("203.0.113.9");
    // `true` is one hop now; it used to take 1.1.1.1, the entry the client wrote itself.
    const legacy = await appTrusting("true");
    expect(await addressSeen(legacy, "10.0.0.1", "1.1.1.1, 203.0.113.9")).toBe("203.0.113.9");
  });

  it("a CIDR list: the right-most entry outside it; a client outside it cannot forward anything", async () => {
    const harness = await appTrusting("10.0.0.0/8");
    expect(await addressSeen(harness, "10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.2")).toBe("203.0.113.9");
    expect(await addressSeen(harness, "10.0.0.1", "10.9.9.9, 203.0.113.9")).toBe("203.0.113.9");
    expect(await addressSeen(harness, "198.51.100.4", "10.0.0.5, 1.1.1.1")).toBe("198.51.100.4");
  });

  it("holds the failure limit when the client rotates the X-Forwarded-For entries it controls", async () => {
    const harness = await appTrusting("1");
    const answers = [];
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/agent/register",
        remoteAddress: "10.0.0.1",
        headers: {
          "content-type": "application/json",
          "x-forwarded-for": `100.64.0.${attempt}, 203.0.113.77`,
        },
        payload: { registrationToken: "vwksp-reg-guess" },
      });
      answers.push(response.statusCode);
    }
    expect(answers).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    // Another client behind the same proxy is a different address.
    expect((await register(harness, "vwksp-reg-guess", undefined, "10.0.0.1")).statusCode).toBe(401);
  });
});
