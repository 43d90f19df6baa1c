import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentEvent } from "@vwksp/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import type { ClusterBackend } from "../src/backends/backend.ts";
import { createLocalBackend } from "../src/backends/local.ts";
import { createFileStore } from "../src/credentials/file-store.ts";
import { createLogger } from "../src/log.ts";
import { createAgent } from "../src/runtime/agent.ts";
import { captureOutput } from "./support/control-plane.ts";
import {
  envelope,
  type FakeControlPlane,
  type Handler,
  recordingTiming,
  type SeenRequest,
  startFakeControlPlane,
} from "./support/fake-control-plane.ts";
import { CLUSTER_ID, configMap } from "./support/jobs.ts";

const OLD = `vwksp-agt-${"1".repeat(64)}`;
const NEW = `vwksp-agt-${"2".repeat(64)}`;
let dir: string;
let server: FakeControlPlane | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vwksp-runtime-"));
});
afterEach(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const job = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: "apply",
  payload: configMap("default", id),
  idempotencyKey: `configmap/default/${id}@1`,
  createdAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 600_000).toISOString(),
  ...extra,
});

/** An agent against a scripted control plane; polls answer `jobs` once, then wait `hold`. */
async function start(
  handler: Handler,
  options: {
    backend?: ClusterBackend;
    heartbeatIntervalMs?: number;
    flushIntervalMs?: number;
    stopTimeoutMs?: number;
  } = {},
) {
  server = await startFakeControlPlane(handler);
  const store = createFileStore(join(dir, "credentials.json"));
  const credentials = { baseUrl: server.url, clusterId: CLUSTER_ID, token: OLD };
  await store.save(credentials);
  const output = captureOutput();
  const { timing, sleeps } = recordingTiming();
  const agent = createAgent({
    store,
    credentials,
    backend: options.backend ?? createLocalBackend({ stateDir: join(dir, "state"), readyAfterMs: 10 }),
    log: createLogger(output),
    timing,
    waitSeconds: 30,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 30_000,
    // Distinct from every retry delay, so tests can tell the batcher's sleeps apart.
    flushIntervalMs: options.flushIntervalMs ?? 1_234,
    ...(options.stopTimeoutMs ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
    runId: "run-1",
  });
  const exited = agent.run();
  return { agent, exited, output, sleeps, store, requests: server.requests };
}

const posted = (requests: SeenRequest[]) =>
  requests
    .filter((request) => request.path === "/api/agent/events")
    .flatMap((request) => (JSON.parse(request.body) as { events: AgentEvent[] }).events);
const paths = (requests: SeenRequest[], path: string) => requests.filter((request) => request.path === path);

describe("agent runtime", () => {
  it("heartbeats at once and every interval with the cluster versions, and reports Connected=True", async () => {
    const { agent, exited, sleeps, requests } = await start(
      (request) => (request.path === "/api/agent/jobs" ? "hold" : { status: 204 }),
      { heartbeatIntervalMs: 2_000 },
    );
    await eventually(
      async () => posted(requests).filter((event) => event.kind === "ClusterHeartbeat").length >= 3,
    );
    const beats = posted(requests).filter((event) => event.kind === "ClusterHeartbeat");
    expect(beats[0]).toEqual({
      kind: "ClusterHeartbeat",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "",
        name: CLUSTER_ID,
      },
      timestamp: expect.any(String),
      cluster: { operatorVersion: "vwksp-agent/0.1.0", kubernetesVersion: "local" },
    });
    expect(sleeps.filter((ms) => ms === 2_000).length).toBeGreaterThanOrEqual(2);
    await eventually(async () =>
      posted(requests).some((event) => event.conditions?.[0]?.type === "Connected"),
    );
    expect(posted(requests).find((event) => event.kind === "ConditionTransition")).toMatchObject({
      eventKey:
        "condition/ops.vworkspace.io/v1alpha1/Cluster/vworkspace-system/cluster-local/run-1/Connected/True@1",
      resourceRef: { namespace: "vworkspace-system", name: "cluster-local", uid: "run-1", generation: 1 },
      conditions: [{ type: "Connected", status: "True", reason: "RoundTripOK" }],
    });
    agent.stop();
    expect(await exited).toEqual({ reason: "stopped" });
  });

  it("retries with full jitter from 1 s and honours Retry-After on 429", async () => {
    let polls = 0;
    const { agent, exited, sleeps } = await start((request) => {
      if (request.path !== "/api/agent/jobs") return { status: 204 };
      polls += 1;
      if (polls <= 3) return envelope(503, "unavailable", "database unavailable");
      if (polls === 4) return envelope(429, "rate_limited", "slow down", { "retry-after": "42" });
      return "hold";
    });
    await eventually(async () => polls >= 5);
    // random() = 0.5: 1 s + 0.5 × (min(60 s, 1 s × 2^n) − 1 s).
    expect(sleeps.filter((ms) => ms !== 30_000 && ms !== 1_234)).toEqual([1_000, 1_500, 2_500, 42_000]);
    agent.stop();
    await exited;
  });

  it("on a 401, rotates once, persists the new credential and carries on with it", async () => {
    let rotated = false;
    const { agent, exited, store, requests, output } = await start((request) => {
      const token = request.headers.authorization?.slice("Bearer ".length);
      if (request.path === "/api/agent/credentials/rotate") {
        rotated = true;
        return token === OLD ? { status: 200, json: { token: NEW } } : envelope(401, "unauthorized", "nope");
      }
      if (token !== NEW) return envelope(401, "unauthorized", "agent credential is expired");
      return request.path === "/api/agent/jobs" ? "hold" : { status: 204 };
    });
    await eventually(async () => rotated && (await store.load()).token === NEW);
    await eventually(async () =>
      paths(requests, "/api/agent/jobs").some((r) => r.headers.authorization === `Bearer ${NEW}`),
    );
    expect(paths(requests, "/api/agent/credentials/rotate")).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, "credentials.json"), "utf8")).token).toBe(NEW);
    expect(output.text()).not.toContain(NEW);
    // Audited like the operator does it: about its Cluster resource, with a zero transition time.
    const audit = await eventually(async () =>
      posted(requests).find((event) => event.kind === "CredentialRotated"),
    );
    expect(audit).toEqual({
      eventKey: "CredentialRotated/run-1/Authenticated",
      kind: "CredentialRotated",
      resourceRef: expect.objectContaining({
        kind: "Cluster",
        name: "cluster-local",
        namespace: "vworkspace-system",
      }),
      conditions: [
        {
          type: "Authenticated",
          status: "True",
          reason: "CredentialRotated",
          message: "Bootstrap credential rotated successfully",
          lastTransitionTime: null,
        },
      ],
      timestamp: expect.any(String),
    });
    agent.stop();
    expect(await exited).toEqual({ reason: "stopped" });
  });

  it("stops gracefully: the waiting long-poll is aborted and buffered events are flushed", async () => {
    const { agent, exited, requests } = await start(
      (request) => (request.path === "/api/agent/jobs" ? "hold" : { status: 204 }),
      { flushIntervalMs: 3_600_000 },
    );
    await eventually(async () => (server?.held() ?? 0) > 0);
    // Connected=True is buffered (the batcher flushes each second); the stop must send it.
    const before = posted(requests).filter((event) => event.kind === "ConditionTransition").length;
    expect(before).toBe(0);
    const started = Date.now();
    agent.stop();
    expect(await exited).toEqual({ reason: "stopped" });
    expect(Date.now() - started).toBeLessThan(1_000);
    await eventually(async () => server?.held() === 0);
    expect(posted(requests).some((event) => event.conditions?.[0]?.type === "Connected")).toBe(true);
  });

  it("finishes and reports the job in hand when stopped, and leaves the rest unacked", async () => {
    let release: () => void = () => {};
    const local = createLocalBackend({ stateDir: join(dir, "state") });
    const slow: ClusterBackend = {
      ...local,
      apply: async (object) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return local.apply(object);
      },
    };
    let delivered = false;
    const { agent, exited, requests } = await start(
      (request) => {
        if (request.path !== "/api/agent/jobs") return { status: 204 };
        if (delivered) return "hold";
        delivered = true;
        return { status: 200, json: { jobs: [job("first"), job("second")] } };
      },
      { backend: slow },
    );
    await eventually(async () => paths(requests, "/api/agent/jobs/first/ack").length === 1);
    agent.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await exited).toEqual({ reason: "stopped" });
    expect(JSON.parse(paths(requests, "/api/agent/jobs/first/result")[0]?.body ?? "{}")).toMatchObject({
      outcome: "succeeded",
    });
    expect(paths(requests, "/api/agent/jobs/second/ack")).toEqual([]);
  });

  it("does not let a hung cluster call hold a stop past the stop timeout", async () => {
    const local = createLocalBackend({ stateDir: join(dir, "state") });
    const hung: ClusterBackend = { ...local, apply: () => new Promise(() => {}) };
    let delivered = false;
    const { agent, exited, requests, output } = await start(
      (request) => {
        if (request.path !== "/api/agent/jobs") return { status: 204 };
        if (delivered) return "hold";
        delivered = true;
        return { status: 200, json: { jobs: [job("stuck")] } };
      },
      { backend: hung, stopTimeoutMs: 5_000 },
    );
    await eventually(async () => paths(requests, "/api/agent/jobs/stuck/ack").length === 1);
    agent.stop();
    expect(await exited).toEqual({ reason: "stopped" });
    expect(output.text()).toContain("the job in hand did not finish before the stop timeout");
    expect(paths(requests, "/api/agent/jobs/stuck/result")).toEqual([]);
  });

  it("does not apply a job whose ack says it is closed (409), and fails a malformed job", async () => {
    let delivered = false;
    const { agent, exited, requests } = await start((request) => {
      if (request.path === "/api/agent/jobs/closed/ack")
        return envelope(409, "job_closed", "job is cancelled");
      if (request.path !== "/api/agent/jobs") return { status: 204 };
      if (delivered) return "hold";
      delivered = true;
      return { status: 200, json: { jobs: [job("closed"), job("weird", { kind: "teleport" })] } };
    });
    await eventually(async () => paths(requests, "/api/agent/jobs/weird/result").length === 1);
    expect(paths(requests, "/api/agent/jobs/closed/result")).toEqual([]);
    await expect(readFile(join(dir, "state", "default", "ConfigMap", "closed.json"))).rejects.toThrow();
    expect(JSON.parse(paths(requests, "/api/agent/jobs/weird/result")[0]?.body ?? "{}")).toMatchObject({
      outcome: "failed",
      error: expect.stringContaining("invalid job"),
    });
    agent.stop();
    await exited;
  });
});
