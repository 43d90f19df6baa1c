import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, registeredCluster } from "../../../test/support/fixtures.ts";
import { goHeartbeat } from "../../../test/support/operator-events.ts";
import { buildAdminApp } from "../src/admin/admin-app.ts";

// A broken job channel made visible. The operator's poller keeps the token it started with after
// a rotation (its runtime rebuilds the HTTP client only when the cluster id changes) while its
// heartbeats use the new one: once the grace period ends the cluster looks connected and no job
// is ever delivered.

let env: TestEnv;
const clock = manualClock(new Date("2026-12-01T10:00:00Z"));
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
const GRACE_SECONDS = 60;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    clock,
    configOverrides: {
      CREDENTIAL_ROTATION_GRACE_SECONDS: String(GRACE_SECONDS),
      // Refused polls come every 2 s from one address: the limiter is not this test's subject.
      AUTH_FAILURE_LIMIT_PER_MINUTE: "1000",
    },
  });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

/** The Go client's FetchJobs(wait=0): no body, no Content-Type. */
const goPoll = (clusterId: string, token: string) =>
  harness.app.inject({
    method: "GET",
    url: `/api/agent/jobs?cluster=${clusterId}&wait=0`,
    headers: agentHeaders(token, false),
  });

async function goHeartbeatWith(clusterId: string, token: string) {
  const response = await harness.app.inject({
    method: "POST",
    url: "/api/agent/events",
    headers: agentHeaders(token),
    payload: JSON.stringify({ events: [goHeartbeat(clusterId, clock.now().toISOString())] }),
  });
  expect(response.statusCode, response.body).toBe(204);
}

/** What the worker's check-job-channels maintenance job does, after this process's coalesced writes. */
async function checkJobChannels() {
  await harness.deps.heartbeats.flush();
  return harness.deps.health.checkJobChannels();
}

const health = async (clusterId: string) => {
  const response = await harness.app.inject({
    url: `/api/v1/clusters/${clusterId}/health`,
    headers: adminHeaders(key),
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};
const channelOf = (view: { conditions: { type: string }[] }) =>
  view.conditions.find((condition) => condition.type === "JobChannelHealthy");

/** The operator's loops for `seconds`: a heartbeat every 30 s and a poll every 2 s (its backoff after an error). */
async function operatorRuns(clusterId: string, heartbeatToken: string, pollToken: string, seconds: number) {
  const statuses = new Set<number>();
  for (let elapsed = 0; elapsed < seconds; elapsed += 30) {
    await goHeartbeatWith(clusterId, heartbeatToken);
    statuses.add((await goPoll(clusterId, pollToken)).statusCode);
    clock.advance(30_000);
  }
  return statuses;
}

/** A sample from the internal listener's /metrics (METRICS_PORT), where Prometheus scrapes it. */
async function metric(name: string, labels: string) {
  const admin = await buildAdminApp(harness.deps);
  const text = (await admin.inject({ url: "/metrics" }).finally(() => admin.close())).body;
  const line = text.split("\n").find((row) => row.startsWith(`${name}{${labels}}`));
  return Number(line?.split(" ").at(-1));
}

describe("the job channel", () => {
  it("goes JobChannelHealthy=False (PollingWithRotatedCredential) when polls keep the rotated-away token", async () => {
    const { cluster, credential: oldToken } = await registeredCluster(harness, key);
    await goHeartbeatWith(cluster.id, oldToken);
    expect((await goPoll(cluster.id, oldToken)).statusCode).toBe(200);
    await checkJobChannels();
    expect(channelOf(await health(cluster.id))).toMatchObject({ status: "True", reason: "PollsSucceeding" });

    const rotated = await harness.app.inject({
      method: "POST",
      url: "/api/agent/credentials/rotate",
      headers: agentHeaders(oldToken),
      payload: "{}",
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const newToken = rotated.json().token as string;

    // Within the grace period the old token still polls; after it, every poll is a 401 while the
    // heartbeats on the new token succeed.
    expect(await operatorRuns(cluster.id, newToken, oldToken, GRACE_SECONDS)).toEqual(new Set([200]));
    expect(await operatorRuns(cluster.id, newToken, oldToken, 600)).toEqual(new Set([401]));
    await checkJobChannels();
    expect(channelOf(await health(cluster.id))).toMatchObject({ status: "True" });

    await operatorRuns(cluster.id, newToken, oldToken, 120);
    expect(await checkJobChannels()).toMatchObject({ changed: 1 });
    const broken = await health(cluster.id);
    expect(broken.status).toBe("connected");
    expect(channelOf(broken)).toEqual({
      type: "JobChannelHealthy",
      status: "False",
      reason: "PollingWithRotatedCredential",
      message: expect.stringContaining("restart the operator so it polls with the current credential"),
      lastTransitionTime: clock.now().toISOString(),
    });
    expect(broken.healthMessage).toMatch(
      /^JobChannelHealthy=False \(PollingWithRotatedCredential\): heartbeats arrive/,
    );
    expect(broken.jobChannel).toEqual({
      lastPollAt: expect.any(String),
      staleAfterSeconds: 640,
      pollAuthFailures: [{ credentialState: "rotated", count: 24, lastAt: expect.any(String) }],
    });
    const view = (
      await harness.app.inject({ url: `/api/v1/clusters/${cluster.id}`, headers: adminHeaders(key) })
    ).json();
    expect(view.healthMessage).toBe(broken.healthMessage);
    expect(view.lastPollAt).toBe(broken.jobChannel.lastPollAt);

    expect(
      await metric("vwksp_clusters_job_channel_unhealthy", 'reason="PollingWithRotatedCredential"'),
    ).toBe(1);
    expect(
      await metric("vwksp_agent_poll_refusals_total", 'credential_state="rotated"'),
    ).toBeGreaterThanOrEqual(24);
    const audit = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: { in: ["JobChannelBroken", "JobChannelRestored"] } },
    });
    expect(audit.map((entry) => entry.kind)).toEqual(["JobChannelBroken"]);

    // The operator restarted: its poller now carries the current credential.
    expect((await goPoll(cluster.id, newToken)).statusCode).toBe(200);
    await checkJobChannels();
    const restored = await health(cluster.id);
    expect(channelOf(restored)).toMatchObject({ status: "True", reason: "PollsSucceeding" });
    expect(restored.healthMessage).toBeNull();
    expect(restored.jobChannel.pollAuthFailures).toEqual([]);
    expect(
      await harness.deps.db.auditEntry.count({
        where: { clusterId: cluster.id, kind: "JobChannelRestored" },
      }),
    ).toBe(1);
  });

  it("goes JobChannelHealthy=False (NoRecentPoll) for an operator that registered but never polls", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await goHeartbeatWith(cluster.id, credential);
    await checkJobChannels();
    expect(channelOf(await health(cluster.id))).toMatchObject({ status: "Unknown", reason: "NoPollYet" });

    for (let beat = 0; beat < 22; beat += 1) {
      clock.advance(30_000);
      await goHeartbeatWith(cluster.id, credential);
    }
    await checkJobChannels();
    const view = await health(cluster.id);
    expect(channelOf(view)).toMatchObject({
      status: "False",
      reason: "NoRecentPoll",
      message: expect.stringContaining("since registration"),
    });
    expect(view.jobChannel).toMatchObject({ lastPollAt: null, pollAuthFailures: [] });
    expect(
      await metric("vwksp_clusters_job_channel_unhealthy", 'reason="NoRecentPoll"'),
    ).toBeGreaterThanOrEqual(1);
  });

  it("does not judge a GitOps cluster by polls it never makes, and drops a verdict from its pull days", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { connectivityMode: "gitops" });
    const pulled = await registeredCluster(harness, key);
    await goHeartbeatWith(cluster.id, credential);
    await goHeartbeatWith(pulled.cluster.id, pulled.credential);
    for (let beat = 0; beat < 22; beat += 1) {
      clock.advance(30_000);
      await goHeartbeatWith(cluster.id, credential);
      await goHeartbeatWith(pulled.cluster.id, pulled.credential);
    }
    await checkJobChannels();
    expect(channelOf(await health(cluster.id))).toBeUndefined();
    expect(channelOf(await health(pulled.cluster.id))).toMatchObject({
      status: "False",
      reason: "NoRecentPoll",
    });

    const switched = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${pulled.cluster.id}`,
      headers: adminHeaders(key),
      payload: { connectivityMode: "gitops" },
    });
    expect(switched.statusCode, switched.body).toBe(200);
    await checkJobChannels();
    expect(channelOf(await health(pulled.cluster.id))).toBeUndefined();
    expect((await health(pulled.cluster.id)).healthMessage).toBeNull();
  });

  it("costs no database write per poll: polls are coalesced with the other contact", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    // The once-a-second flush is stopped so that nothing but this test writes (a slow machine
    // would otherwise flush between the polls).
    await harness.deps.heartbeats.stop();
    try {
      await Promise.all(Array.from({ length: 20 }, () => goPoll(cluster.id, credential)));
      expect(harness.deps.heartbeats.pendingCount()).toBe(1);
      const before = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      expect(before.lastPollAt).toBeNull();
      await harness.deps.heartbeats.flush();
      const after = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      expect(after.lastPollAt?.toISOString()).toBe(clock.now().toISOString());
    } finally {
      harness.deps.heartbeats.start();
    }
  });

  it("never reconnects a disconnected cluster on a refused poll", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
    });
    await harness.deps.db.cluster.update({ where: { id: cluster.id }, data: { status: "disconnected" } });
    expect((await goPoll(cluster.id, credential)).statusCode).toBe(401);
    await harness.deps.heartbeats.flush();
    const row = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(row.status).toBe("disconnected");
    expect(row.pollAuthFailures).toMatchObject({ revoked: { count: 1 } });
  });
});
