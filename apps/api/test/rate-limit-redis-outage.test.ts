import { createServer, type Server, type Socket } from "node:net";
import type { InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, registeredCluster } from "../../../test/support/fixtures.ts";

let env: TestEnv;
let healthy: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
let agent: { clusterId: string; credential: string };

/** A "Redis" that accepts connections and never answers: a network partition, not a refusal. */
async function startBlackHole() {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `redis://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

beforeAll(async () => {
  env = await createTestEnv();
  healthy = await createTestApp({ env });
  key = await adminKey(healthy);
  const { cluster, credential } = await registeredCluster(healthy, key);
  agent = { clusterId: cluster.id, credential };
});

afterAll(async () => {
  await healthy?.close();
  await env?.close();
});

/** 30 failures from one address and the valid agent and admin key, each answer timed. */
async function attackAndServe(harness: Awaited<ReturnType<typeof createTestApp>>) {
  const slowest = { ms: 0 };
  const timed = async (request: InjectOptions) => {
    const started = Date.now();
    const response = await harness.app.inject(request);
    slowest.ms = Math.max(slowest.ms, Date.now() - started);
    return response.statusCode;
  };
  const failures = [];
  for (let attempt = 0; attempt < 30; attempt += 1) {
    failures.push(
      await timed({
        url: `/api/agent/jobs?cluster=${agent.clusterId}&wait=0`,
        headers: agentHeaders(`vwksp-agt-${attempt.toString(16).padStart(64, "b")}`, false),
        remoteAddress: "203.0.113.66",
      }),
    );
  }
  const agentPoll = await timed({
    url: `/api/agent/jobs?cluster=${agent.clusterId}&wait=0`,
    headers: agentHeaders(agent.credential, false),
    remoteAddress: "203.0.113.66",
  });
  const adminCall = await timed({
    url: "/api/v1/clusters",
    headers: adminHeaders(key),
    remoteAddress: "203.0.113.66",
  });
  return { failures, agentPoll, adminCall, slowestMs: slowest.ms };
}

/** Failures answered 401 without a limit, valid credentials served, nothing waiting long. */
function expectFailedOpenAndServed(outcome: Awaited<ReturnType<typeof attackAndServe>>) {
  expect(new Set(outcome.failures)).toEqual(new Set([401]));
  expect(outcome.agentPoll).toBe(200);
  expect(outcome.adminCall).toBe(200);
  expect(outcome.slowestMs).toBeLessThan(3_000);
}

describe("the failure limiter without Redis", () => {
  it("fails open when Redis refuses connections: failures answered 401, valid agent and admin served", async () => {
    const harness = await createTestApp({ env, configOverrides: { REDIS_URL: "redis://127.0.0.1:1" } });
    try {
      expectFailedOpenAndServed(await attackAndServe(harness));
    } finally {
      await harness.close();
    }
  });

  it("does not hang when Redis stops answering: every answer within a few seconds", async () => {
    const blackHole = await startBlackHole();
    const harness = await createTestApp({ env, configOverrides: { REDIS_URL: blackHole.url } });
    try {
      // One call waits for the limiter's timeout (1 s); the next ones leave Redis alone a while.
      expectFailedOpenAndServed(await attackAndServe(harness));
    } finally {
      await Promise.race([harness.close(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
      await blackHole.close();
    }
  });
});
