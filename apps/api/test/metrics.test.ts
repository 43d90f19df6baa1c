import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, poll, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { DURATION_BUCKETS, METRICS_CONTENT_TYPE } from "../src/http/metrics.ts";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
/** Moves the app's clock forward, past the 10 s cache of the database gauges. */
let clockOffsetMs = 0;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    clock: { now: () => new Date(Date.now() + clockOffsetMs) },
    configOverrides: { METRICS_ENABLED: "true" },
  });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^\n]*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;
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
 * A strict reader of the text format 0.0.4: every line is a HELP, a TYPE or a sample; each family
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
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
    if (rawValue !== "NaN") expect(Number.isNaN(value), line).toBe(false);
    samples.push({ name, labels: parseLabels(labelText, line), value });
  }
  return { types, samples };
}

async function scrape() {
  const response = await harness.app.inject({ method: "GET", url: "/metrics" });
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

    const { text, samples } = await scrape();
    const delta = (labels: Record<string, string>) =>
      (value(samples, "vwksp_http_requests_total", labels) ?? 0) -
      (value(before, "vwksp_http_requests_total", labels) ?? 0);
    expect(delta({ method: "GET", route: "unmatched", status: "404" })).toBe(2);
    expect(delta({ method: "GET", route: "/api/agent/jobs", status: "200" })).toBe(1);
    expect(delta({ method: "POST", route: "/api/agent/jobs/:jobId/ack", status: "404" })).toBe(1);
    expect(delta({ method: "GET", route: "/healthz", status: "200" })).toBe(1);
    // The previous scrape is counted too.
    expect(delta({ method: "GET", route: "/metrics", status: "200" })).toBe(1);
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

describe("GET /metrics without PostgreSQL, or switched off", () => {
  it("still answers, without the database gauges, and counts the failure", async () => {
    const logs = createLogCapture();
    const broken = await createTestApp({
      env,
      configOverrides: {
        DATABASE_URL: "postgresql://postgres@127.0.0.1:1/unreachable",
        METRICS_ENABLED: "true",
      },
      captureLogs: logs,
    });
    try {
      const response = await broken.app.inject({ method: "GET", url: "/metrics" });
      expect(response.statusCode).toBe(200);
      const { samples } = parseExposition(response.body);
      expect(samples.some((sample) => sample.name === "vwksp_jobs" || sample.name === "vwksp_clusters")).toBe(
        false,
      );
      expect(value(samples, "vwksp_metrics_scrape_errors_total")).toBe(1);
      expect(value(samples, "vwksp_long_poll_waiters")).toBe(0);
      expect(value(samples, "process_resident_memory_bytes")).toBeGreaterThan(0);
      expect(logs.text()).toContain("metrics: could not read job and cluster counts");
    } finally {
      await broken.close();
    }
  });

  it("is a 404 unless METRICS_ENABLED=true (off by default: the API's port faces the agents)", async () => {
    const off = await createTestApp({ env });
    try {
      expect((await off.app.inject({ method: "GET", url: "/metrics" })).statusCode).toBe(404);
    } finally {
      await off.close();
    }
  });
});
