import {
  createAuditService,
  createHealthService,
  manualClock,
  pruneEvents,
  silentNotifier,
} from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, registeredCluster } from "../../../test/support/fixtures.ts";

let env: TestEnv;
const clock = manualClock(new Date("2026-11-27T09:00:00Z"));
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const postEvents = (credential: string, body: unknown) =>
  harness.app.inject({
    method: "POST",
    url: "/api/agent/events",
    headers: agentHeaders(credential),
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });

/** Exactly what the Go operator's Heartbeat() sends. */
const goHeartbeat = (clusterId: string) => ({
  events: [
    {
      kind: "ClusterHeartbeat",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "",
        name: clusterId,
      },
      timestamp: "2026-11-27T09:00:00.123456789Z",
    },
  ],
});

const transition = (
  name: string,
  type: string,
  status: "True" | "False" | "Unknown",
  options: {
    generation?: number;
    at?: string;
    kind?: string;
    apiVersion?: string;
    namespace?: string;
    reason?: string;
  } = {},
) => {
  const apiVersion = options.apiVersion ?? "apps.vworkspace.io/v1alpha1";
  const kind = options.kind ?? "ApplicationInstance";
  const namespace = options.namespace ?? "org-demo";
  const generation = options.generation ?? 1;
  return {
    eventKey: `condition/${apiVersion}/${kind}/${namespace}/${name}/uid-${name}/${type}/${status}@${generation}`,
    kind: "ConditionTransition",
    resourceRef: { apiVersion, kind, namespace, name, uid: `uid-${name}`, generation },
    conditions: [
      {
        type,
        status,
        reason: options.reason ?? "Reason",
        message: "",
        lastTransitionTime: options.at ?? "2026-11-27T09:00:00Z",
        observedGeneration: generation,
      },
    ],
    timestamp: options.at ?? "2026-11-27T09:00:00Z",
  };
};

describe("POST /api/agent/events", () => {
  it("takes the Go operator's heartbeat (no conditions, no eventKey) and marks the cluster connected", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const response = await postEvents(credential, goHeartbeat(cluster.id));
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe("");
    await harness.deps.heartbeats.flush();
    const stored = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(stored.status).toBe("connected");
    expect(stored.lastHeartbeatAt?.toISOString()).toBe(clock.now().toISOString());
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("reads the reference agent's version extension and condition snapshot into the health view", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const heartbeat = goHeartbeat(cluster.id);
    const event = {
      ...heartbeat.events[0],
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "AgentRunning",
          message: "",
          lastTransitionTime: "2026-11-27T09:00:00Z",
        },
      ],
      cluster: { operatorVersion: "0.9.1", kubernetesVersion: "v1.31.2", fluxVersion: "2.4.0" },
    };
    expect((await postEvents(credential, { events: [event] })).statusCode).toBe(204);
    const health = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/health`,
      headers: adminHeaders(key),
    });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: "connected",
      lastHeartbeatAt: clock.now().toISOString(),
      conditions: [{ type: "Ready", status: "True" }],
      versions: { operator: "0.9.1", kubernetes: "v1.31.2", flux: "2.4.0", velero: null },
      openJobs: { queued: 0, ready: 0, leased: 0, acked: 0 },
    });
  });

  it("coalesces heartbeats: many requests, one pending row update per cluster", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await harness.deps.heartbeats.flush();
    await Promise.all(Array.from({ length: 50 }, () => postEvents(credential, goHeartbeat(cluster.id))));
    expect(harness.deps.heartbeats.pendingCount()).toBe(1);
    await harness.deps.heartbeats.flush();
    expect(harness.deps.heartbeats.pendingCount()).toBe(0);
  });

  it("stores events once: a replayed batch is a no-op", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const batch = {
      events: [
        transition("a", "Ready", "False"),
        transition("a", "Succeeded", "True"),
        { ...transition("b", "Odd", "True"), kind: "SomethingNew" },
      ],
    };
    expect((await postEvents(credential, batch)).statusCode).toBe(204);
    expect((await postEvents(credential, batch)).statusCode).toBe(204);
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(3);
    expect(
      await harness.deps.db.auditEntry.count({ where: { clusterId: cluster.id, kind: "Succeeded" } }),
    ).toBe(1);
    const kinds = await harness.deps.db.agentEvent.findMany({
      where: { clusterId: cluster.id },
      select: { kind: true },
    });
    expect(kinds.map((row) => row.kind).sort()).toEqual([
      "ConditionTransition",
      "ConditionTransition",
      "SomethingNew",
    ]);
  });

  it("refuses more than 1,000 events or 1 MiB with 413, and a malformed batch whole with 400", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const many = { events: Array.from({ length: 1001 }, (_, i) => transition(`n${i}`, "Ready", "True")) };
    const tooMany = await postEvents(credential, many);
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toMatchObject({ error: "payload_too_large" });
    const huge = {
      events: [
        {
          ...transition("big", "Ready", "True"),
          conditions: [{ type: "Ready", status: "True", message: "x".repeat(1_100_000) }],
        },
      ],
    };
    expect((await postEvents(credential, huge)).statusCode).toBe(413);

    const malformed = {
      events: [
        transition("ok", "Ready", "True"),
        { kind: "ConditionTransition", timestamp: "2026-11-27T09:00:00Z" },
      ],
    };
    const refused = await postEvents(credential, malformed);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toContain("events.1");
    const badStatus = {
      events: [{ ...transition("x", "Ready", "True"), conditions: [{ type: "Ready", status: "Maybe" }] }],
    };
    expect((await postEvents(credential, badStatus)).statusCode).toBe(400);
    expect((await postEvents(credential, '{"events": [')).statusCode).toBe(400);
    expect((await postEvents(credential, { events: "no" })).statusCode).toBe(400);
    const nul = {
      events: [
        {
          ...goHeartbeat(cluster.id).events[0],
          conditions: [{ type: "Ready", status: "True", message: "a\u0000b" }],
        },
      ],
    };
    const nulRefused = await postEvents(credential, nul);
    expect(nulRefused.statusCode).toBe(400);
    expect(nulRefused.json().message).toContain("NUL");
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("projects conditions per resource; older generations and transitions never overwrite newer ones", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await postEvents(credential, {
      events: [transition("web", "Ready", "True", { generation: 2, at: "2026-11-27T09:00:10Z" })],
    });
    await postEvents(credential, {
      events: [transition("web", "Ready", "False", { generation: 1, at: "2026-11-27T09:00:20Z" })],
    });
    await postEvents(credential, {
      events: [transition("web", "Ready", "False", { generation: 2, at: "2026-11-27T09:00:05Z" })],
    });
    await postEvents(credential, {
      events: [transition("web", "Progressing", "False", { generation: 2, at: "2026-11-27T09:00:30Z" })],
    });
    const response = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/resources`,
      headers: adminHeaders(key),
    });
    expect(response.json().items).toEqual([
      expect.objectContaining({
        apiVersion: "apps.vworkspace.io/v1alpha1",
        kind: "ApplicationInstance",
        namespace: "org-demo",
        name: "web",
        uid: "uid-web",
        generation: 2,
        ready: true,
        conditions: [
          expect.objectContaining({ type: "Ready", status: "True" }),
          expect.objectContaining({ type: "Progressing", status: "False" }),
        ],
      }),
    ]);
  });

  it("projects a batch about many resources as it would the same events one request at a time", async () => {
    const names = Array.from({ length: 40 }, (_, index) => `svc-${index}`);
    const eventsOf = (name: string, index: number) => [
      transition(name, "Ready", "True", { generation: 2, at: "2026-11-27T09:00:10Z", kind: "Deployment" }),
      // Older generation and older transition: neither may win.
      transition(name, "Ready", "False", { generation: 1, at: "2026-11-27T09:00:20Z", kind: "Deployment" }),
      transition(name, "Ready", "False", { generation: 2, at: "2026-11-27T09:00:05Z", kind: "Deployment" }),
      ...(index % 2 === 0
        ? [
            transition(name, "Progressing", "False", {
              generation: 2,
              at: "2026-11-27T09:00:30Z",
              kind: "Deployment",
            }),
          ]
        : []),
    ];
    const resources = async (clusterId: string) =>
      (
        await harness.app.inject({
          url: `/api/v1/clusters/${clusterId}/resources`,
          headers: adminHeaders(key),
        })
      ).json().items as Record<string, unknown>[];
    const comparable = (items: Record<string, unknown>[]) =>
      items.map(({ name, uid, generation, ready, conditions }) => ({
        name,
        uid,
        generation,
        ready,
        conditions,
      }));

    const one = await registeredCluster(harness, key);
    for (const [index, name] of names.entries()) {
      for (const event of eventsOf(name, index)) {
        expect((await postEvents(one.credential, { events: [event] })).statusCode).toBe(204);
      }
    }
    const batched = await registeredCluster(harness, key);
    const all = names.flatMap((name, index) => eventsOf(name, index));
    expect((await postEvents(batched.credential, { events: all })).statusCode).toBe(204);

    const expected = comparable(await resources(one.cluster.id));
    expect(expected).toHaveLength(names.length);
    expect(expected.every((item) => item.ready === true && item.generation === 2)).toBe(true);
    expect(comparable(await resources(batched.cluster.id))).toEqual(expected);
  });

  it("turns every high-signal condition pair and direct kind into an agent audit entry", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const pairs = ["Succeeded", "Failed", "Running", "Cancelled", "Blocked", "Connected", "Disconnected"];
    const events = [
      ...pairs.map((type) =>
        transition(`op-${type.toLowerCase()}`, type, "True", {
          kind: "Operation",
          apiVersion: "ops.vworkspace.io/v1alpha1",
        }),
      ),
      transition("quiet", "Succeeded", "False"),
      transition("quiet", "Progressing", "True"),
      ...[
        "CredentialRotated",
        "OperationAccepted",
        "OperationBlocked",
        "OperationRunning",
        "OperationSucceeded",
        "OperationFailed",
      ].map((kind) => ({
        eventKey: `${kind}/uid-1/${kind}`,
        kind,
        resourceRef: {
          apiVersion: "ops.vworkspace.io/v1alpha1",
          kind: "Operation",
          namespace: "org-demo",
          name: "op1",
          uid: "uid-1",
        },
        timestamp: "2026-11-27T09:00:00Z",
      })),
    ];
    expect((await postEvents(credential, { events })).statusCode).toBe(204);
    const entries = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, source: "agent" },
    });
    const kinds = entries.map((entry) => entry.kind).filter((kind) => kind !== "RegistrationTokenExchanged");
    expect(kinds.sort()).toEqual(
      [
        ...pairs,
        "CredentialRotated",
        "OperationAccepted",
        "OperationBlocked",
        "OperationRunning",
        "OperationSucceeded",
        "OperationFailed",
      ].sort(),
    );
    const audit = await harness.app.inject({
      url: `/api/v1/audit?clusterId=${cluster.id}&source=agent&kind=Failed`,
      headers: adminHeaders(key),
    });
    expect(audit.json().items).toEqual([
      expect.objectContaining({ kind: "Failed", source: "agent", actor: cluster.id }),
    ]);
  });

  it("lists events by kind and resource name with a cursor", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await postEvents(credential, {
      events: [
        transition("x1", "Ready", "True"),
        transition("x2", "Ready", "True"),
        transition("x2", "Ready", "False"),
      ],
    });
    const first = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/events?resourceName=x2&limit=1`,
      headers: adminHeaders(key),
    });
    expect(first.json().items).toEqual([
      expect.objectContaining({
        kind: "ConditionTransition",
        resourceRef: expect.objectContaining({ name: "x2" }),
      }),
    ]);
    const second = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/events?resourceName=x2&limit=1&cursor=${first.json().nextCursor}`,
      headers: adminHeaders(key),
    });
    expect(second.json()).toMatchObject({
      items: [expect.objectContaining({ eventKey: expect.stringContaining("/Ready/True@1") })],
      nextCursor: null,
    });
    const bad = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/events?cursor=abc`,
      headers: adminHeaders(key),
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe("cluster health", () => {
  it("marks a silent cluster disconnected and connects it again on the next contact (controlled clock)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const health = createHealthService({
      db: harness.deps.db,
      clock,
      audit: createAuditService({ db: harness.deps.db, clock }),
      notifier: silentNotifier,
      heartbeatTimeoutSeconds: 90,
      jobChannelStaleSeconds: 640,
    });
    await postEvents(credential, goHeartbeat(cluster.id));
    await harness.deps.heartbeats.flush();
    clock.advance(60_000);
    await health.markSilentClustersDisconnected();
    expect((await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe(
      "connected",
    );
    clock.advance(31_000);
    await health.markSilentClustersDisconnected();
    expect((await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe(
      "disconnected",
    );

    await postEvents(credential, goHeartbeat(cluster.id));
    await harness.deps.heartbeats.flush();
    expect((await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe(
      "connected",
    );
    const flips = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: { in: ["Connected", "Disconnected"] } },
      orderBy: { id: "asc" },
    });
    expect(flips.map((entry) => entry.kind)).toEqual(["Disconnected", "Connected"]);
  });

  it("prunes events older than the retention period and keeps the audit trail", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await postEvents(credential, { events: [transition("old", "Succeeded", "True")] });
    clock.advance(31 * 86_400_000);
    await postEvents(credential, { events: [transition("new", "Ready", "True")] });
    const { deleted } = await pruneEvents({ db: harness.deps.db, clock, retentionDays: 30 });
    expect(deleted).toBeGreaterThanOrEqual(1);
    const left = await harness.deps.db.agentEvent.findMany({ where: { clusterId: cluster.id } });
    expect(left.map((event) => event.resourceName)).toEqual(["new"]);
    expect(
      await harness.deps.db.auditEntry.count({ where: { clusterId: cluster.id, kind: "Succeeded" } }),
    ).toBe(1);
  });
});
