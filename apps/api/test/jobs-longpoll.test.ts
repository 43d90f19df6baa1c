import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, poll, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// A Redis database of this file's own, so that flushing it (a Redis that lost everything)
// touches no other test file.
const REDIS_DB_URL = "redis://127.0.0.1:6379/9";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    configOverrides: { REDIS_URL: REDIS_DB_URL },
    longPollRecheckMs: 300,
  });
  worker = createTestWorker({ env, configOverrides: { REDIS_URL: REDIS_DB_URL } });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

describe("long-poll", () => {
  it("answers a waiting poll as soon as a job becomes ready", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const started = Date.now();
    const waiting = poll(harness, cluster.id, credential, 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { jobId } = await rawJob(harness, key, cluster.id, "wake-me");
    const jobs = await waiting;
    expect(jobs.map((job) => job.id)).toEqual([jobId]);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("answers with an empty list when the wait runs out, and clamps wait to 300", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const started = Date.now();
    expect(await poll(harness, cluster.id, credential, 1)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const clamped = poll(harness, cluster.id, credential, 100_000);
    const { jobId } = await rawJob(harness, key, cluster.id, "clamped");
    expect((await clamped).map((job) => job.id)).toEqual([jobId]);
  });

  it("ends a waiting poll with 401 the moment its credential is revoked, delivering nothing on it", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const started = Date.now();
    const waiting = harness.app.inject({
      method: "GET",
      url: `/api/agent/jobs?cluster=${cluster.id}&wait=20`,
      headers: agentHeaders(credential, false),
    });
    await eventually(async () => harness.app.longPollStats().waiters > 0);
    const revoked = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
    });
    expect(revoked.statusCode).toBe(204);
    const { jobId } = await rawJob(harness, key, cluster.id, "after-revocation");
    const answer = await waiting;
    expect(answer.statusCode).toBe(401);
    expect(answer.json().error).toBe("unauthorized");
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(job.deliveries).toBe(0);
  });

  it("ends a waiting poll when its credential expires; the next poll is 401", async () => {
    const expiring = await createTestApp({
      env,
      configOverrides: { REDIS_URL: REDIS_DB_URL, CREDENTIAL_TTL_SECONDS: "5" },
    });
    try {
      const { cluster, credential } = await registeredCluster(expiring, key);
      const started = Date.now();
      expect(await poll(expiring, cluster.id, credential, 30)).toEqual([]);
      // Ended by the expiry (5 s after the registration), not by the 30 s wait.
      expect(Date.now() - started).toBeLessThan(10_000);
      const after = await expiring.app.inject({
        method: "GET",
        url: `/api/agent/jobs?cluster=${cluster.id}&wait=0`,
        headers: agentHeaders(credential, false),
      });
      expect(after.statusCode).toBe(401);
    } finally {
      await expiring.close();
    }
  });

  it("ends a poll that waited on a credential rotated away when that credential's grace ends", async () => {
    const rotating = await createTestApp({
      env,
      configOverrides: { REDIS_URL: REDIS_DB_URL, CREDENTIAL_ROTATION_GRACE_SECONDS: "2" },
    });
    try {
      const { cluster, credential } = await registeredCluster(rotating, key);
      const started = Date.now();
      // The real operator's poller keeps polling with the token it started with after a rotation.
      const waiting = poll(rotating, cluster.id, credential, 30);
      await eventually(async () => rotating.app.longPollStats().waiters > 0);
      const rotated = await rotating.app.inject({
        method: "POST",
        url: "/api/agent/credentials/rotate",
        headers: agentHeaders(credential),
        payload: "{}",
      });
      expect(rotated.statusCode, rotated.body).toBe(200);
      expect(await waiting).toEqual([]);
      // Ended by the grace period's end (2 s after the rotation), not by the 30 s wait.
      expect(Date.now() - started).toBeLessThan(8_000);
      const after = await rotating.app.inject({
        method: "GET",
        url: `/api/agent/jobs?cluster=${cluster.id}&wait=0`,
        headers: agentHeaders(credential, false),
      });
      expect(after.statusCode).toBe(401);
    } finally {
      await rotating.close();
    }
  });

  it("has no HEAD twin: a HEAD (a proxy's or a monitor's) claims nothing", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "head-proof");
    await eventually(
      async () => (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state === "ready",
    );
    const head = await harness.app.inject({
      method: "HEAD",
      url: `/api/agent/jobs?cluster=${cluster.id}&wait=0`,
      headers: agentHeaders(credential, false),
    });
    expect(head.statusCode).toBe(404);
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });
    expect({ state: job.state, deliveries: job.deliveries }).toEqual({ state: "ready", deliveries: 0 });
    expect((await poll(harness, cluster.id, credential)).map((polled) => polled.id)).toEqual([jobId]);
    // The health checks still answer HEAD, as load balancers send it.
    expect((await harness.app.inject({ method: "HEAD", url: "/healthz" })).statusCode).toBe(200);
  });

  it("leaves no waiter and leases nothing when the client goes away", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const address = await harness.app.listen({ port: 0, host: "127.0.0.1" });
    const controller = new AbortController();
    const request = fetch(`${address}/api/agent/jobs?cluster=${cluster.id}&wait=30`, {
      headers: agentHeaders(credential, false),
      signal: controller.signal,
    }).catch((error: Error) => error.name);
    await eventually(async () => stats().waiters > 0);
    controller.abort();
    expect(await request).toBe("AbortError");
    await eventually(async () => stats().waiters === 0);
    const { jobId } = await rawJob(harness, key, cluster.id, "nobody-waits");
    await eventually(
      async () => (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state === "ready",
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state).toBe("ready");
  });

  it("never hands a job to two polls within a lease: 2 app instances, 20 concurrent pollers", async () => {
    const second = await createTestApp({
      env,
      configOverrides: { REDIS_URL: REDIS_DB_URL },
      longPollRecheckMs: 300,
    });
    try {
      const { cluster, credential } = await registeredCluster(harness, key);
      const total = 60;
      const received: string[] = [];
      let stop = false;
      const pollers = Array.from({ length: 20 }, async (_, index) => {
        const app = index % 2 === 0 ? harness : second;
        while (!stop) {
          const jobs = await poll(app, cluster.id, credential, 1);
          received.push(...jobs.map((job) => job.id));
        }
      });
      const created: string[] = [];
      for (let i = 0; i < total; i += 1)
        created.push((await rawJob(harness, key, cluster.id, `race-${i}`)).jobId);
      await eventually(async () => received.length >= total, 15_000);
      stop = true;
      await Promise.all(pollers);
      expect(received).toHaveLength(total);
      expect(new Set(received)).toEqual(new Set(created));
      const rows = await harness.deps.db.job.findMany({ where: { clusterId: cluster.id } });
      expect(rows.every((row) => row.deliveries === 1 && row.state === "leased")).toBe(true);
    } finally {
      await second.close();
    }
  });

  it("loses no job when Redis is flushed mid-run: the reconciler re-enqueues queued jobs", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await worker.close();
    const created: string[] = [];
    for (let i = 0; i < 15; i += 1)
      created.push((await rawJob(harness, key, cluster.id, `flush-${i}`)).jobId);
    const redis = new Redis(REDIS_DB_URL);
    await redis.flushdb();
    redis.disconnect();

    worker = createTestWorker({ env, configOverrides: { REDIS_URL: REDIS_DB_URL } });
    await worker.deps.db.job.updateMany({
      where: { id: { in: created } },
      data: { createdAt: new Date(Date.now() - 60_000) },
    });
    await worker.processors.maintenance?.["reconcile-queued"]?.({}, undefined as never);
    await eventually(
      async () =>
        (await harness.deps.db.job.count({ where: { id: { in: created }, state: "ready" } })) === 15,
      10_000,
    );
    const jobs = [
      ...(await poll(harness, cluster.id, credential)),
      ...(await poll(harness, cluster.id, credential)),
    ];
    expect(new Set(jobs.map((job) => job.id))).toEqual(new Set(created));
  });

  it("answers waiting polls with an empty list on shutdown", async () => {
    const instance = await createTestApp({ env, configOverrides: { REDIS_URL: REDIS_DB_URL } });
    const { cluster, credential } = await registeredCluster(instance, key);
    const waiting = poll(instance, cluster.id, credential, 60);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await instance.close();
    expect(await waiting).toEqual([]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

const stats = () => harness.app.longPollStats();
