import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  eventually,
  poll,
  postResult,
  rawJob,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";
import { buildAdminApp } from "../src/admin/admin-app.ts";
import { DELIVERY_LATENCY_BUCKETS, DURATION_BUCKETS } from "../src/metrics/api-metrics.ts";

// The API's metrics, scraped where Prometheus scrapes them: the internal listener on
// METRICS_PORT (buildAdminApp), never the agents' port.

const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let admin: Awaited<ReturnType<typeof buildAdminApp>>;
let key: string;
/** Moves the app's clock forward, past the 10 s cache of the database gauges or a lease. */
let clockOffsetMs = 0;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    clock: { now: () => new Date(Date.now() + clockOffsetMs) },
    longPollRecheckMs: 200,
  });
  admin = await buildAdminApp(harness.deps);
  key = await adminKey(harness);
});

afterAll(async () => {
  await admin?.close();
  await harness?.close();
  await env?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// Values as Prometheus reads them (Go's ParseFloat): NaN in any case — prom-client writes "Nan".
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^\n]*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)$/;
const LABEL_PAIR = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  let rest = text.slice(1, -1);
  while (rest.length > 0) {
    const match = LABEL_PAIR.exec(rest);
    if (!match) throw new Error(`bad labels in: ${line}`);
    const [whole, name = "", raw = ""] = match;
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = raw.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/**
 * A strict reader of the text format 0.0.4: every line is a HELP, a TYPE, a sample or empty; each family
 * has HELP and TYPE before its samples and its samples are not interleaved with another family's.
 */
function parseExposition(text: string) {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const closed = new Set<string>();
  let current: string | undefined;
  const familyOf = (name: string) => {
    if (types.has(name)) return name;
    const base = name.replace(/_(bucket|sum|count)$/, "");
    if (types.get(base) === "histogram") return base;
    throw new Error(`sample ${name} without TYPE`);
  };
  for (const line of text.slice(0, -1).split("\n")) {
    // The format ignores empty lines; prom-client writes one between families.
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name = "", rest = ""] = comment;
      expect(name).toMatch(METRIC_NAME);
      if (kind === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(rest);
        expect(types.has(name), `second TYPE for ${name}`).toBe(false);
        types.set(name, rest);
      }
      if (current && current !== name) closed.add(current);
      expect(closed.has(name), `${name} interleaved`).toBe(false);
      current = name;
      continue;
    }
    expect(line.startsWith("#"), line).toBe(false);
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const [, name = "", labelText, rawValue = ""] = match;
    const family = familyOf(name);
    expect(family, `${name} outside its family`).toBe(current);
    const notANumber = rawValue.toLowerCase() === "nan";
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
    if (!notANumber) expect(Number.isNaN(value), line).toBe(false);
    samples.push({ name, labels: parseLabels(labelText, line), value });
  }
  return { types, samples };
}

async function scrape(target = admin) {
  const response = await target.inject({ method: "GET", url: "/metrics" });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers["content-type"]).toBe(METRICS_CONTENT_TYPE);
  return { text: response.body, ...parseExposition(response.body) };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([label, wanted]) => sample.labels[label] === wanted),
  )?.value;
}

describe("GET /metrics", () => {
  it("serves the Prometheus text format with the expected families", async () => {
    const { types } = await scrape();
    expect(Object.fromEntries(types)).toMatchObject({
      vwksp_http_requests_total: "counter",
      vwksp_http_request_duration_seconds: "histogram",
      vwksp_long_poll_waiters: "gauge",
      vwksp_long_poll_clusters: "gauge",
      vwksp_jobs: "gauge",
      vwksp_clusters: "gauge",
      vwksp_metrics_scrape_errors_total: "counter",
      vwksp_job_delivery_latency_seconds: "histogram",
      vwksp_job_redeliveries_total: "counter",
      vwksp_jobs_finished_total: "counter",
      vwksp_auth_failures_total: "counter",
      vwksp_events_ingested_total: "counter",
      vwksp_events_refused_total: "counter",
      process_resident_memory_bytes: "gauge",
      process_cpu_seconds_total: "counter",
      process_start_time_seconds: "gauge",
      nodejs_eventloop_lag_p99_seconds: "gauge",
    });
  });

  it("counts requests by route pattern, never by raw URL", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const before = (await scrape()).samples;
    const jobId = "j-01JZZZZZZZZZZZZZZZZZZZZZZZ";
    await harness.app.inject({ method: "GET", url: "/no/such/route/4711?x=1" });
    await harness.app.inject({ method: "GET", url: "/no/such/route/4712" });
    expect(await poll(harness, cluster.id, credential, 0)).toEqual([]);
    const ack = await harness.app.inject({
      method: "POST",
      url: `/api/agent/jobs/${jobId}/ack`,
      headers: agentHeaders(credential, false),
    });
    expect(ack.statusCode).toBe(404);
    await harness.app.inject({ method: "GET", url: "/healthz" });
    const agentsPort = await harness.app.inject({ method: "GET", url: "/metrics" });
    expect(agentsPort.statusCode).toBe(404);

    const { text, samples } = await scrape();
    const delta = (labels: Record<string, string>) =>
      (value(samples, "vwksp_http_requests_total", labels) ?? 0) -
      (value(before, "vwksp_http_requests_total", labels) ?? 0);
    // The two unknown routes, and /metrics on the agents' port: it does not exist there.
    expect(delta({ method: "GET", route: "unmatched", status: "404" })).toBe(3);
    expect(delta({ method: "GET", route: "/api/agent/jobs", status: "200" })).toBe(1);
    expect(delta({ method: "POST", route: "/api/agent/jobs/:jobId/ack", status: "404" })).toBe(1);
    expect(delta({ method: "GET", route: "/healthz", status: "200" })).toBe(1);
    // Scrapes go to the internal listener and are not counted as API requests.
    expect(samples.some((sample) => sample.labels.route === "/metrics")).toBe(false);
    for (const raw of [jobId, cluster.id, "4711", "/no/such", "x=1"]) expect(text).not.toContain(raw);
  });

  it("keeps histograms cumulative with _sum and _count", async () => {
    const { samples } = await scrape();
    const buckets = samples.filter((sample) => sample.name === "vwksp_http_request_duration_seconds_bucket");
    const series = new Map<string, Sample[]>();
    for (const bucket of buckets) {
      const { le, ...labels } = bucket.labels;
      expect(le).toBeDefined();
      const id = JSON.stringify(labels);
      series.set(id, [...(series.get(id) ?? []), bucket]);
    }
    expect(series.has(JSON.stringify({ method: "GET", route: "/api/agent/jobs" }))).toBe(true);
    for (const [id, list] of series) {
      const bounds = list.map((bucket) => Number(bucket.labels.le === "+Inf" ? Infinity : bucket.labels.le));
      expect(bounds).toEqual([...DURATION_BUCKETS, Infinity]);
      expect(bounds).toContain(300);
      for (let index = 1; index < list.length; index++) {
        expect(list[index]?.value).toBeGreaterThanOrEqual(list[index - 1]?.value ?? 0);
      }
      const labels = JSON.parse(id) as Record<string, string>;
      const count = value(samples, "vwksp_http_request_duration_seconds_count", labels);
      const sum = value(samples, "vwksp_http_request_duration_seconds_sum", labels);
      expect(count).toBe(list.at(-1)?.value);
      expect(count).toBeGreaterThan(0);
      expect(sum).toBeGreaterThanOrEqual(0);
    }
  });

  it("reports the long-poll hub's waiters", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const waiting = poll(harness, cluster.id, credential, 2);
    const during = await eventually(async () => {
      const { samples } = await scrape();
      return (value(samples, "vwksp_long_poll_waiters") ?? 0) >= 1 ? samples : undefined;
    });
    expect(value(during, "vwksp_long_poll_clusters")).toBeGreaterThanOrEqual(1);
    expect(await waiting).toEqual([]);
    const after = (await scrape()).samples;
    expect(value(after, "vwksp_long_poll_waiters")).toBe(0);
    expect(value(after, "vwksp_long_poll_clusters")).toBe(0);
  });

  it("reports open jobs and clusters by state from PostgreSQL, cached for 10 s", async () => {
    const { cluster } = await registeredCluster(harness, key);
    await rawJob(harness, key, cluster.id, "metrics-a");
    await rawJob(harness, key, cluster.id, "metrics-b");
    clockOffsetMs += 11_000;
    const { samples } = await scrape();

    const jobs = await harness.deps.db.job.groupBy({ by: ["state"], _count: { _all: true } });
    const clusters = await harness.deps.db.cluster.groupBy({ by: ["status"], _count: { _all: true } });
    const jobCount = (state: string) => jobs.find((row) => row.state === state)?._count._all ?? 0;
    for (const state of ["queued", "ready", "leased", "acked"]) {
      expect(value(samples, "vwksp_jobs", { state }), state).toBe(jobCount(state));
    }
    expect(value(samples, "vwksp_jobs", { state: "queued" })).toBeGreaterThanOrEqual(2);
    // Terminal states are not counted (they are the millions of rows).
    expect(samples.filter((sample) => sample.name === "vwksp_jobs").map((s) => s.labels.state)).toEqual([
      "queued",
      "ready",
      "leased",
      "acked",
    ]);
    for (const status of ["pending", "connected", "disconnected", "disabled"]) {
      const expected = clusters.find((row) => row.status === status)?._count._all ?? 0;
      expect(value(samples, "vwksp_clusters", { status }), status).toBe(expected);
    }
    expect(value(samples, "vwksp_clusters", { status: "connected" })).toBeGreaterThanOrEqual(1);

    // Within 10 s the counts are reused; after, a new job shows.
    const queued = value(samples, "vwksp_jobs", { state: "queued" }) ?? 0;
    await rawJob(harness, key, cluster.id, "metrics-c");
    expect(value((await scrape()).samples, "vwksp_jobs", { state: "queued" })).toBe(queued);
    clockOffsetMs += 11_000;
    expect(value((await scrape()).samples, "vwksp_jobs", { state: "queued" })).toBe(queued + 1);
    expect(value((await scrape()).samples, "vwksp_metrics_scrape_errors_total")).toBe(0);
  });
});

describe("job delivery and outcomes", () => {
  it("observes enqueue→delivered once per job, counts redeliveries and the agents' outcomes", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const before = (await scrape()).samples;
    // Only here: the other tests count jobs that must stay queued.
    const worker = createTestWorker({ env });
    onTestFinished(() => worker.close());
    const { jobId } = await rawJob(harness, key, cluster.id, "metrics-delivered");
    const { jobId: lapsing } = await rawJob(harness, key, cluster.id, "metrics-lapsing");
    await eventually(
      async () =>
        (await harness.deps.db.job.count({ where: { id: { in: [jobId, lapsing] }, state: "ready" } })) === 2,
    );
    const delivered = await poll(harness, cluster.id, credential, 0);
    expect(delivered.map((job) => job.id).sort()).toEqual([jobId, lapsing].sort());
    expect((await postResult(harness, jobId, credential, { outcome: "succeeded" })).statusCode).toBe(204);

    const { samples } = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (value(samples, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta("vwksp_job_delivery_latency_seconds_count")).toBe(2);
    const sum = delta("vwksp_job_delivery_latency_seconds_sum");
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
    const bounds = samples
      .filter((sample) => sample.name === "vwksp_job_delivery_latency_seconds_bucket")
      .map((sample) => sample.labels.le);
    expect(bounds).toEqual([...DELIVERY_LATENCY_BUCKETS.map(String), "+Inf"]);
    expect(delta("vwksp_jobs_finished_total", { outcome: "succeeded" })).toBe(1);

    // The second job's lease runs out unacked: the next poll redelivers it, not a first delivery.
    clockOffsetMs += 61_000;
    expect((await poll(harness, cluster.id, credential, 0)).map((job) => job.id)).toEqual([lapsing]);
    const after = (await scrape()).samples;
    expect(
      (value(after, "vwksp_job_redeliveries_total") ?? 0) -
        (value(before, "vwksp_job_redeliveries_total") ?? 0),
    ).toBe(1);
    expect(value(after, "vwksp_job_delivery_latency_seconds_count")).toBe(
      value(samples, "vwksp_job_delivery_latency_seconds_count"),
    );
  });
});

describe("authentication failures and events", () => {
  it("counts refused credentials by kind and reason", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const before = (await scrape()).samples;
    const pollWith = (headers: Record<string, string>) =>
      harness.app.inject({ method: "GET", url: `/api/agent/jobs?cluster=${cluster.id}&wait=0`, headers });
    expect((await pollWith({ accept: "application/json" })).statusCode).toBe(401);
    expect((await pollWith(agentHeaders(`vwksp-agt-${"0".repeat(64)}`, false))).statusCode).toBe(401);
    expect((await register(harness, `vwksp-reg-${"0".repeat(64)}`)).statusCode).toBe(401);
    expect((await harness.app.inject({ url: "/api/v1/me" })).statusCode).toBe(401);
    expect(
      (
        await harness.app.inject({
          url: "/api/v1/me",
          headers: adminHeaders("vwksp-key-wrong-wrong-wrong-wrong"),
        })
      ).statusCode,
    ).toBe(401);
    const org = await harness.deps.db.organization.findFirstOrThrow();
    const { key: auditKey } = await harness.deps.apiKeys.create({
      organizationId: org.id,
      name: "audit only",
      scopes: ["audit:read"],
    });
    const scoped = await harness.app.inject({ url: "/api/v1/clusters", headers: adminHeaders(auditKey) });
    expect(scoped.statusCode).toBe(403);

    const { samples } = await scrape();
    const delta = (credential: string, reason: string) =>
      (value(samples, "vwksp_auth_failures_total", { credential, reason }) ?? 0) -
      (value(before, "vwksp_auth_failures_total", { credential, reason }) ?? 0);
    expect(delta("agent", "missing")).toBe(1);
    expect(delta("agent", "refused")).toBe(1);
    expect(delta("registration", "invalid_token")).toBe(1);
    expect(delta("admin", "missing")).toBe(1);
    expect(delta("admin", "invalid")).toBe(1);
    expect(delta("admin", "insufficient_scope")).toBe(1);
  });

  it("counts events ingested by kind and batches refused by reason", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const before = (await scrape()).samples;
    const post = (events: unknown[]) =>
      harness.app.inject({
        method: "POST",
        url: "/api/agent/events",
        headers: agentHeaders(credential),
        payload: JSON.stringify({ events }),
      });
    const heartbeat = {
      kind: "ClusterHeartbeat",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "",
        name: cluster.id,
      },
      timestamp: "2026-11-27T09:00:00Z",
    };
    const transition = {
      eventKey: "metrics/ready",
      kind: "ConditionTransition",
      resourceRef: {
        apiVersion: "apps.vworkspace.io/v1alpha1",
        kind: "ApplicationInstance",
        namespace: "org-demo",
        name: "app",
      },
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "Installed",
          message: "",
          lastTransitionTime: "2026-11-27T09:00:00Z",
        },
      ],
      timestamp: "2026-11-27T09:00:00Z",
    };
    expect(
      (await post([heartbeat, transition, { ...transition, eventKey: "x", kind: "Custom" }])).statusCode,
    ).toBe(204);
    // Refused for its structure only: too many events, or an event without its fields.
    expect((await post(Array.from({ length: 1001 }, () => heartbeat))).statusCode).toBe(413);
    expect((await post([{ kind: "ClusterHeartbeat" }])).statusCode).toBe(400);

    const { samples } = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      (value(samples, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta("vwksp_events_ingested_total", { kind: "heartbeat" })).toBe(1);
    expect(delta("vwksp_events_ingested_total", { kind: "condition_transition" })).toBe(1);
    expect(delta("vwksp_events_ingested_total", { kind: "other" })).toBe(1);
    expect(delta("vwksp_events_refused_total", { reason: "payload_too_large" })).toBe(1);
    expect(delta("vwksp_events_refused_total", { reason: "invalid_request" })).toBe(1);
  });
});

describe("GET /metrics without PostgreSQL", () => {
  it("still answers, without the database gauges, and counts the failure", async () => {
    const logs = createLogCapture();
    const broken = await createTestApp({
      env,
      configOverrides: { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/unreachable" },
      captureLogs: logs,
    });
    const brokenAdmin = await buildAdminApp(broken.deps, { logger: broken.app.log });
    try {
      const { samples } = await scrape(brokenAdmin);
      expect(samples.some((sample) => sample.name === "vwksp_jobs" || sample.name === "vwksp_clusters")).toBe(
        false,
      );
      expect(value(samples, "vwksp_metrics_scrape_errors_total")).toBe(1);
      expect(value(samples, "vwksp_long_poll_waiters")).toBe(0);
      expect(value(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(logs.text()).toContain("metrics: could not read job and cluster counts");
    } finally {
      await brokenAdmin.close();
      await broken.close();
    }
  });
});
