import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { createFileStore } from "../src/credentials/file-store.ts";
import { parseHostPort } from "../src/health-server.ts";
import { readinessWindowMs } from "../src/runtime/agent.ts";
import { createTelemetry } from "../src/runtime/telemetry.ts";
import { type FakeControlPlane, startFakeControlPlane } from "./support/fake-control-plane.ts";
import { CLUSTER_ID, configMap } from "./support/jobs.ts";
import { manualTiming } from "./support/manual-timing.ts";
import { runAgent } from "./support/run-agent.ts";

const TOKEN = `vwksp-agt-${"3".repeat(64)}`;
let dir: string;
let server: FakeControlPlane | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vwksp-health-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
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

/** One metric's value from the exposition text (labels exactly as given, in prom-client's order). */
function metric(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function credentialsFile(baseUrl: string) {
  const file = join(dir, "credentials.json");
  await createFileStore(file).save({ baseUrl, clusterId: CLUSTER_ID, token: TOKEN });
  return file;
}

/** The address the agent says it serves on, from its first log lines. */
async function healthUrl(stdout: { text(): string }) {
  const found = await eventually(async () => /serving \/healthz.* on ([\d.]+:\d+)/.exec(stdout.text()));
  return `http://${found[1]}`;
}

describe("vwksp-agent run --health-addr", () => {
  it("serves /healthz, /readyz that follows the control plane's reachability, and /metrics; logs JSON", async () => {
    let down = false;
    let polls = 0;
    let refusedOnce = false;
    server = await startFakeControlPlane(async (request) => {
      if (down)
        return {
          status: 503,
          json: { error: "unavailable", message: "down" },
          headers: { "retry-after": "1" },
        };
      if (request.path === "/api/agent/jobs") {
        polls += 1;
        if (polls === 1) {
          // One job to apply, one the schema refuses.
          return { status: 200, json: { jobs: [job("good"), { id: "weird", kind: "apply" }] } };
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        return { status: 200, json: { jobs: [] } };
      }
      if (request.path === "/api/agent/events" && request.body.includes("ConditionTransition")) {
        // One refused batch (400): counted as refused, not retried.
        if (!refusedOnce) {
          refusedOnce = true;
          return { status: 400, json: { error: "bad_request", message: "no" } };
        }
      }
      return { status: 204 };
    });
    const file = await credentialsFile(server.url);
    const agent = runAgent([
      "--credentials-file",
      file,
      "--backend",
      "local",
      "--state-dir",
      join(dir, "state"),
      "--local-ready-after",
      "10ms",
      "--wait",
      "1",
      "--heartbeat-interval",
      "300ms",
      "--health-addr",
      "127.0.0.1:0",
      "--log-format",
      "json",
    ]);
    const url = await healthUrl(agent.stdout);

    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    expect(await healthz.text()).toBe("ok\n");
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`, { method: "POST" })).status).toBe(405);

    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200);
    expect(await (await fetch(`${url}/readyz`)).text()).toContain("registered");

    const scrape = async () => {
      const response = await fetch(`${url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/plain");
      return response.text();
    };
    let text = await eventually(async () => {
      const body = await scrape();
      return (metric(body, 'vwksp_agent_jobs_failed_total{kind="invalid",outcome="failed"}') ?? 0) >= 1 &&
        (metric(body, "vwksp_agent_events_refused_total") ?? 0) >= 1
        ? body
        : undefined;
    });
    expect(metric(text, 'vwksp_agent_jobs_received_total{kind="apply"}')).toBe(1);
    expect(metric(text, 'vwksp_agent_jobs_received_total{kind="invalid"}')).toBe(1);
    expect(metric(text, 'vwksp_agent_jobs_applied_total{kind="apply"}')).toBe(1);
    expect(metric(text, 'vwksp_agent_polls_total{outcome="ok"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, "vwksp_agent_events_sent_total")).toBeGreaterThanOrEqual(1);
    expect(metric(text, "vwksp_agent_heartbeat_failures_total")).toBe(0);
    expect(metric(text, "vwksp_agent_ready")).toBe(1);
    const contact = metric(text, "vwksp_agent_last_contact_timestamp_seconds") ?? 0;
    expect(Math.abs(contact - Date.now() / 1000)).toBeLessThan(10);
    // Node's process metrics come along, under the agent's prefix.
    expect(text).toContain("vwksp_agent_process_resident_memory_bytes");

    // The control plane goes away: not ready, with the reason; heartbeats and polls fail.
    down = true;
    const unready = await eventually(async () => {
      const response = await fetch(`${url}/readyz`);
      return response.status === 503 ? response.text() : undefined;
    });
    expect(unready).toMatch(/the last contact with the control plane failed: .*503/);
    text = await eventually(async () => {
      const body = await scrape();
      return (metric(body, "vwksp_agent_heartbeat_failures_total") ?? 0) >= 1 &&
        (metric(body, 'vwksp_agent_polls_total{outcome="error"}') ?? 0) >= 1
        ? body
        : undefined;
    });
    expect(metric(text, "vwksp_agent_ready")).toBe(0);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    // Back: ready again.
    down = false;
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000);

    expect(await agent.stop()).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    const lines = agent.stdout.text().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      expect(JSON.parse(line), line).toEqual({
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        level: expect.stringMatching(/^(info|warn|error)$/),
        msg: expect.any(String),
      });
    }
    expect(lines.some((line) => JSON.parse(line).msg.startsWith("agent vwksp-agent/"))).toBe(true);
  }, 30_000);

  it("reads VWKSP_HEALTH_ADDR and VWKSP_LOG_FORMAT; refuses bad values (2) and a taken port (1)", async () => {
    server = await startFakeControlPlane(() => ({ status: 204 }));
    const file = await credentialsFile(server.url);
    const base = ["--credentials-file", file, "--backend", "local", "--state-dir", join(dir, "s")];
    const { main } = await import("../src/cli.ts");
    const { captureOutput } = await import("./support/control-plane.ts");
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const stdout = captureOutput();
      const stderr = captureOutput();
      const code = await main(["run", ...base, ...args], { stdout, stderr, env });
      return { code, stdout: stdout.text(), stderr: stderr.text() };
    };
    expect(await run(["--health-addr", "nowhere"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--health-addr"),
    });
    expect(await run([], { VWKSP_HEALTH_ADDR: "1.2.3.4:99999" })).toMatchObject({ code: 2 });
    expect(await run(["--log-format", "xml"])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--log-format must be text or json"),
    });
    expect(await run([], { VWKSP_LOG_FORMAT: "yaml" })).toMatchObject({ code: 2 });

    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await run([], { VWKSP_HEALTH_ADDR: `127.0.0.1:${port}` });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`--health-addr 127.0.0.1:${port}`);
      expect(result.stderr).toContain("EADDRINUSE");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("parses host:port, :port and [v6]:port", () => {
    expect(parseHostPort("0.0.0.0:8081")).toEqual({ host: "0.0.0.0", port: 8081 });
    expect(parseHostPort(":9000")).toEqual({ host: "0.0.0.0", port: 9000 });
    expect(parseHostPort("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseHostPort("localhost:0")).toEqual({ host: "localhost", port: 0 });
    for (const bad of ["8081", "host:", "host:port", "a:b:1", "x:70000"]) {
      expect(() => parseHostPort(bad), bad).toThrow();
    }
  });
});

describe("agent readiness", () => {
  it("is ready only when registered, not stopping, and the last contact succeeded within the window", async () => {
    const { timing, advance } = manualTiming();
    const window = readinessWindowMs(30, 30_000);
    expect(window).toBe(70_000);
    const telemetry = createTelemetry({ clock: timing.clock, staleAfterMs: window });
    expect(telemetry.readiness()).toEqual({ ready: false, reason: "not registered: no credential loaded" });
    telemetry.registered();
    expect(telemetry.readiness().reason).toBe("no contact with the control plane yet");
    telemetry.contactFailed("connection refused");
    expect(telemetry.readiness().reason).toContain("connection refused");
    await advance(1);
    telemetry.contactSucceeded();
    expect(telemetry.readiness().ready).toBe(true);
    await advance(window);
    expect(telemetry.readiness().ready).toBe(true);
    await advance(1);
    expect(telemetry.readiness()).toEqual({
      ready: false,
      reason: "no successful contact with the control plane for 70 s",
    });
    telemetry.contactSucceeded();
    expect(telemetry.readiness().ready).toBe(true);
    await advance(1);
    telemetry.contactFailed("HTTP 502");
    expect(telemetry.readiness().ready).toBe(false);
    await advance(1);
    telemetry.contactSucceeded();
    telemetry.stopping();
    expect(telemetry.readiness()).toEqual({ ready: false, reason: "stopping" });
  });
});
