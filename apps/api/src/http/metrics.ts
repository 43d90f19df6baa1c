import { monitorEventLoopDelay } from "node:perf_hooks";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { ApiDeps } from "../deps.ts";
import { renderAgentCounters } from "./agent-metrics.ts";

/**
 * Prometheus `GET /metrics` in the text exposition format 0.0.4, written by hand (no client
 * library): HTTP request counts and durations by route pattern, the long-poll hub's waiters,
 * process basics, and open jobs / clusters by state from PostgreSQL (cached, cheap queries).
 *
 * No authentication, as usual for Prometheus: the endpoint is meant to be scraped from inside the
 * network and must be kept off the public ingress; METRICS_ENABLED=false removes it.
 */

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Seconds. The long-poll (`GET /api/agent/jobs`) holds requests for up to 300 s by design, so the
 * buckets reach 300: its series measures how long agents wait, not latency — query it apart.
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The open job states: the only ones counted (the index on Job(state, …) finds them). */
const OPEN_JOB_STATES = ["queued", "ready", "leased", "acked"] as const;
const CLUSTER_STATUSES = ["pending", "connected", "disconnected", "disabled"] as const;
/** JobChannelHealthy=False reasons (health/job-channel.ts), listed even at 0. */
const JOB_CHANNEL_REASONS = [
  "NoRecentPoll",
  "PollingWithRotatedCredential",
  "PollingWithRevokedCredential",
  "PollingWithExpiredCredential",
  "JobsUndelivered",
] as const;
/** How long the database gauges are reused: a scrape every few seconds costs one query per 10 s. */
const DB_CACHE_MS = 10_000;
const DB_TIMEOUT_MS = 2_000;

/**
 * The counts in one round trip. `state IN (…open…)` reads the index on Job(state, leaseExpiresAt)
 * rather than the whole table (terminal jobs pile up by the million, open ones do not); the
 * Cluster table is small.
 */
const DB_GAUGES_SQL = `
  SELECT 'job' AS kind, state::text AS label, count(*)::float8 AS n
    FROM "Job" WHERE state IN (${OPEN_JOB_STATES.map((state) => `'${state}'`).join(", ")}) GROUP BY state
  UNION ALL
  SELECT 'cluster' AS kind, status::text AS label, count(*)::float8 AS n FROM "Cluster" GROUP BY status
  UNION ALL
  SELECT 'job_channel' AS kind, "jobChannel"->>'reason' AS label, count(*)::float8 AS n
    FROM "Cluster" WHERE "jobChannel"->>'status' = 'False' GROUP BY 2`;

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A label value as the exposition format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function labelsOf(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return parts.length > 0 ? `{${parts.join(",")}}` : "";
}

/** Collects one exposition document: families are written whole, HELP and TYPE first. */
export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string) {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels: Record<string, string> = {}) {
    this.lines.push(`${name}${labelsOf(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A sample whose labels are already rendered (`{a="b"}` or ""). */
  rendered(name: string, labels: string, value: number) {
    this.lines.push(`${name}${labels} ${formatValue(value)}`);
    return this;
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

interface CounterSeries {
  labels: string;
  value: number;
}

interface HistogramSeries {
  /** Rendered `method="…",route="…"` (without braces: `le` is appended). */
  labels: string;
  /** Observations per bucket (not cumulative; cumulated when rendered). */
  buckets: number[];
  sum: number;
  count: number;
}

/** The in-process HTTP counters: bounded by routes × methods × statuses. */
export function createHttpMetrics(buckets: readonly number[] = DURATION_BUCKETS) {
  const requests = new Map<string, CounterSeries>();
  const durations = new Map<string, HistogramSeries>();

  function observe(method: string, route: string, status: number, seconds: number) {
    const countKey = `${method} ${route} ${status}`;
    let counter = requests.get(countKey);
    if (!counter) {
      counter = { labels: labelsOf({ method, route, status: String(status) }), value: 0 };
      requests.set(countKey, counter);
    }
    counter.value += 1;

    const durationKey = `${method} ${route}`;
    let histogram = durations.get(durationKey);
    if (!histogram) {
      histogram = {
        labels: `method="${escapeLabelValue(method)}",route="${escapeLabelValue(route)}"`,
        buckets: new Array(buckets.length).fill(0),
        sum: 0,
        count: 0,
      };
      durations.set(durationKey, histogram);
    }
    const index = buckets.findIndex((bound) => seconds <= bound);
    if (index >= 0) histogram.buckets[index] = (histogram.buckets[index] ?? 0) + 1;
    histogram.sum += seconds;
    histogram.count += 1;
  }

  function render(out: Exposition) {
    out.family(
      "vwksp_http_requests_total",
      "counter",
      "HTTP requests answered, by method, route pattern and status.",
    );
    for (const series of requests.values())
      out.rendered("vwksp_http_requests_total", series.labels, series.value);

    out.family(
      "vwksp_http_request_duration_seconds",
      "histogram",
      "HTTP request duration in seconds, by method and route pattern (the long-poll waits up to 300 s).",
    );
    for (const series of durations.values()) {
      let cumulative = 0;
      buckets.forEach((bound, index) => {
        cumulative += series.buckets[index] ?? 0;
        out.rendered(
          "vwksp_http_request_duration_seconds_bucket",
          `{${series.labels},le="${formatValue(bound)}"}`,
          cumulative,
        );
      });
      out.rendered(
        "vwksp_http_request_duration_seconds_bucket",
        `{${series.labels},le="+Inf"}`,
        series.count,
      );
      out.rendered("vwksp_http_request_duration_seconds_sum", `{${series.labels}}`, series.sum);
      out.rendered("vwksp_http_request_duration_seconds_count", `{${series.labels}}`, series.count);
    }
  }

  return { observe, render };
}

type DbGauges = {
  jobs: Map<string, number>;
  clusters: Map<string, number>;
  jobChannels: Map<string, number>;
};

/**
 * Open jobs and clusters by state, read at most once per DB_CACHE_MS (by the deps' clock) and
 * never twice at once. A failure or a timeout is not cached: the next scrape tries again.
 */
function createDbGauges(deps: ApiDeps) {
  let cached: { at: number; value: DbGauges } | undefined;
  let inflight: Promise<DbGauges> | undefined;
  let errors = 0;

  async function query(): Promise<DbGauges> {
    // Server-side limit too, so a slow count does not hold a connection after the scrape gave up.
    const [, rows] = await deps.db.$transaction([
      deps.db.$executeRawUnsafe(`SET LOCAL statement_timeout = '${DB_TIMEOUT_MS}ms'`),
      deps.db.$queryRawUnsafe<{ kind: string; label: string; n: number }[]>(DB_GAUGES_SQL),
    ]);
    const jobs = new Map<string, number>(OPEN_JOB_STATES.map((state) => [state, 0]));
    const clusters = new Map<string, number>(CLUSTER_STATUSES.map((status) => [status, 0]));
    const jobChannels = new Map<string, number>(JOB_CHANNEL_REASONS.map((reason) => [reason, 0]));
    const byKind: Record<string, Map<string, number>> = {
      job: jobs,
      cluster: clusters,
      job_channel: jobChannels,
    };
    for (const row of rows) byKind[row.kind]?.set(row.label, Number(row.n));
    return { jobs, clusters, jobChannels };
  }

  async function read(log: FastifyRequest["log"]): Promise<DbGauges | undefined> {
    const now = deps.clock.now().getTime();
    if (cached && now - cached.at < DB_CACHE_MS) return cached.value;
    inflight ??= query().finally(() => {
      inflight = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        inflight,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), DB_TIMEOUT_MS + 500);
        }),
      ]);
      cached = { at: now, value };
      return value;
    } catch (error) {
      errors += 1;
      log.warn({ err: error }, "metrics: could not read job and cluster counts");
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  return { read, errors: () => errors };
}

function renderDbGauges(out: Exposition, gauges: DbGauges | undefined, errors: number) {
  out.family(
    "vwksp_metrics_scrape_errors_total",
    "counter",
    "Scrapes whose PostgreSQL gauges (vwksp_jobs, vwksp_clusters) could not be read and were left out.",
  );
  out.sample("vwksp_metrics_scrape_errors_total", errors);
  if (!gauges) return;
  out.family("vwksp_jobs", "gauge", "Open jobs (queued, ready, leased, acked) by state; cached up to 10 s.");
  for (const [state, count] of gauges.jobs) out.sample("vwksp_jobs", count, { state });
  out.family("vwksp_clusters", "gauge", "Clusters by status; cached up to 10 s.");
  for (const [status, count] of gauges.clusters) out.sample("vwksp_clusters", count, { status });
  out.family(
    "vwksp_clusters_job_channel_unhealthy",
    "gauge",
    "Clusters whose job channel is broken (JobChannelHealthy=False), by reason; cached up to 10 s.",
  );
  for (const [reason, count] of gauges.jobChannels)
    out.sample("vwksp_clusters_job_channel_unhealthy", count, { reason });
}

function createProcessMetrics() {
  // Reset at each scrape (as prom-client does): the percentile covers the last scrape interval.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const startTime = Math.round(Date.now() / 1000 - process.uptime());

  function render(out: Exposition) {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    out.family("process_cpu_user_seconds_total", "counter", "User CPU time spent in seconds.");
    out.sample("process_cpu_user_seconds_total", cpu.user / 1e6);
    out.family("process_cpu_system_seconds_total", "counter", "System CPU time spent in seconds.");
    out.sample("process_cpu_system_seconds_total", cpu.system / 1e6);
    out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
    out.sample("process_cpu_seconds_total", (cpu.user + cpu.system) / 1e6);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    out.sample("process_resident_memory_bytes", memory.rss);
    out.family(
      "process_start_time_seconds",
      "gauge",
      "Start time of the process since the Unix epoch in seconds.",
    );
    out.sample("process_start_time_seconds", startTime);
    out.family("nodejs_heap_size_used_bytes", "gauge", "V8 heap in use in bytes.");
    out.sample("nodejs_heap_size_used_bytes", memory.heapUsed);
    out.family("nodejs_heap_size_total_bytes", "gauge", "V8 heap allocated in bytes.");
    out.sample("nodejs_heap_size_total_bytes", memory.heapTotal);
    const sampled = loopDelay.count > 0;
    out.family(
      "nodejs_eventloop_lag_p99_seconds",
      "gauge",
      "99th percentile of the event loop delay since the previous scrape, in seconds.",
    );
    out.sample("nodejs_eventloop_lag_p99_seconds", sampled ? loopDelay.percentile(99) / 1e9 : 0);
    out.family(
      "nodejs_eventloop_lag_max_seconds",
      "gauge",
      "Largest event loop delay since the previous scrape, in seconds.",
    );
    out.sample("nodejs_eventloop_lag_max_seconds", sampled ? loopDelay.max / 1e9 : 0);
    loopDelay.reset();
  }

  return { render, close: () => loopDelay.disable() };
}

/** The route pattern (`/api/agent/jobs/:jobId/ack`), never the raw URL; no route: "unmatched". */
function routeOf(request: FastifyRequest): string {
  return request.is404 ? "unmatched" : (request.routeOptions.url ?? "unmatched");
}

function methodOf(request: FastifyRequest): string {
  // Unmatched requests may carry any method Node's parser knows: fold the rare ones into one.
  return STANDARD_METHODS.has(request.method) || !request.is404 ? request.method : "other";
}

async function metricsPlugin(app: FastifyInstance, { deps }: { deps: ApiDeps }) {
  if (!deps.config.METRICS_ENABLED) return;
  const http = createHttpMetrics();
  const db = createDbGauges(deps);
  const processMetrics = createProcessMetrics();

  // Registered on the root instance (skip-override below), so it sees every route registered
  // after this plugin and the 404 handler. Requests refused before routing (a URL the router
  // cannot parse, answered by `frameworkErrors`) run no hooks and are not counted.
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    http.observe(methodOf(request), routeOf(request), reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook("onClose", async () => processMetrics.close());

  app.get("/metrics", { schema: { hide: true }, logLevel: "warn" }, async (request, reply) => {
    const gauges = await db.read(request.log);
    const out = new Exposition();
    http.render(out);
    const stats = app.hasDecorator("longPollStats") ? app.longPollStats() : { waiters: 0, clusters: 0 };
    out.family("vwksp_long_poll_waiters", "gauge", "Agent long-polls waiting in this process.");
    out.sample("vwksp_long_poll_waiters", stats.waiters);
    out.family(
      "vwksp_long_poll_clusters",
      "gauge",
      "Clusters with at least one waiting long-poll in this process.",
    );
    out.sample("vwksp_long_poll_clusters", stats.clusters);
    renderDbGauges(out, gauges, db.errors());
    renderAgentCounters(out, deps);
    processMetrics.render(out);
    return reply
      .header("content-type", METRICS_CONTENT_TYPE)
      .header("cache-control", "no-store")
      .send(out.text());
  });
}

// What fastify-plugin does: no encapsulation, so the hooks above apply to the whole app.
Object.assign(metricsPlugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "metrics",
});

export const metricsRoutes: FastifyPluginAsync<{ deps: ApiDeps }> = metricsPlugin;
