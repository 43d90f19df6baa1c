import type { ClaimedJob, Clock, Db } from "@vwksp/core";
import { type ClosedJobState, JobOutcome } from "@vwksp/protocol";
import type { FastifyBaseLogger } from "fastify";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { registerDbGauges } from "./db-gauges.ts";

/**
 * Seconds. The long-poll (`GET /api/agent/jobs`) holds requests for up to 300 s by design, so the
 * buckets reach 300: its series measures how long agents wait, not latency — query it apart.
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Seconds from a job's creation (the enqueue) to its first lease by a poll: milliseconds when an
 * agent waits, up to the job lifetime (900 s by default) when its cluster is offline.
 */
export const DELIVERY_LATENCY_BUCKETS = [
  0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
];

/** Outcomes of a job's life, as its closing state says: the agent's result or the service's verdict. */
/** How jobs end, as counted: the agent's outcomes and the service's (a cancel is an admin's act). */
export const JOB_OUTCOMES = [
  ...JobOutcome.options,
  "expired",
  "undeliverable",
] as const satisfies readonly ClosedJobState[];

/**
 * The API process's Prometheus metrics, in a registry of its own (tests build many apps in one
 * process). Counters are bumped on the request path — a few hundred nanoseconds each; gauges are
 * read when scraped.
 */
export function createApiMetrics(deps: { db: Db; clock: Clock }) {
  const registry = new Registry();
  const registers = [registry];
  const dbGauges = registerDbGauges(registry, deps);

  const httpRequests = new Counter({
    name: "vwksp_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status.",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "vwksp_http_request_duration_seconds",
    help: "HTTP request duration in seconds, by method and route pattern (the long-poll waits up to 300 s).",
    labelNames: ["method", "route"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });

  let longPollStats = () => ({ waiters: 0, clusters: 0 });
  new Gauge({
    name: "vwksp_long_poll_waiters",
    help: "Agent long-polls waiting in this process.",
    registers,
    collect() {
      this.set(longPollStats().waiters);
    },
  });
  new Gauge({
    name: "vwksp_long_poll_clusters",
    help: "Clusters with at least one waiting long-poll in this process.",
    registers,
    collect() {
      this.set(longPollStats().clusters);
    },
  });

  const deliveryLatency = new Histogram({
    name: "vwksp_job_delivery_latency_seconds",
    help: "Seconds from a job's enqueue to its first delivery to a poll (redeliveries are counted apart).",
    buckets: DELIVERY_LATENCY_BUCKETS,
    registers,
  });
  const redeliveries = new Counter({
    name: "vwksp_job_redeliveries_total",
    help: "Jobs leased again after a lease or ack timeout ran out.",
    registers,
  });
  const jobsFinished = new Counter({
    name: "vwksp_jobs_finished_total",
    help: "Jobs closed, by outcome: the agent's result, or expired/undeliverable by the service.",
    labelNames: ["outcome"] as const,
    registers,
  });
  const authFailures = new Counter({
    name: "vwksp_auth_failures_total",
    help: "Refused authentications, by credential (agent, registration, admin) and reason.",
    labelNames: ["credential", "reason"] as const,
    registers,
  });
  const eventsIngested = new Counter({
    name: "vwksp_events_ingested_total",
    help: "Agent events accepted, by kind (heartbeat, condition_transition, other); replays included.",
    labelNames: ["kind"] as const,
    registers,
  });
  const eventsRefused = new Counter({
    name: "vwksp_events_refused_total",
    help: "Event batches refused, by the error code of the answer.",
    labelNames: ["reason"] as const,
    registers,
  });

  // Counts kept by the services themselves (cumulative per process), turned into counters here.
  let agentCounts = () => ({
    pollRefusals: new Map<string, number>() as ReadonlyMap<string, number>,
    unprojectedEvents: new Map<string, number>() as ReadonlyMap<string, number>,
  });
  cumulativeCounter(registry, {
    name: "vwksp_agent_poll_refusals_total",
    help: "Job polls refused for a known credential that no longer works, by its state (rotated away, revoked, expired).",
    label: "credential_state",
    initial: ["rotated", "revoked", "expired"],
    read: () => agentCounts().pollRefusals,
  });
  cumulativeCounter(registry, {
    name: "vwksp_agent_events_unprojected_total",
    help: "Agent events stored but not projected onto a status, by reason (unknown kind, no conditions, generation beyond 32 bits).",
    label: "reason",
    initial: [],
    read: () => agentCounts().unprojectedEvents,
  });

  for (const outcome of JOB_OUTCOMES) jobsFinished.inc({ outcome }, 0);

  /**
   * The delivery service's hook: first deliveries feed the latency, the rest count as
   * redeliveries (a job released unread by a poll that went away counts as first again).
   */
  function jobsClaimed(jobs: readonly ClaimedJob[], at: Date) {
    for (const job of jobs) {
      if (job.state !== "leased") jobsFinished.inc({ outcome: job.state });
      else if (job.deliveries > 1) redeliveries.inc();
      else deliveryLatency.observe(Math.max(0, (at.getTime() - job.createdAt.getTime()) / 1000));
    }
  }

  let processMetrics = false;
  return {
    registry,
    httpRequests,
    httpDuration,
    jobsFinished,
    authFailures,
    eventsIngested,
    eventsRefused,
    jobsClaimed,
    /** The services' own counts of refused polls and unprojected events, read at each scrape. */
    trackAgentCounts(read: typeof agentCounts) {
      agentCounts = read;
    },
    /** The long-poll hub of the app, read at each scrape. */
    trackLongPoll(stats: () => { waiters: number; clusters: number }) {
      longPollStats = stats;
    },
    /** The exposition document; the PostgreSQL gauges are read (or taken from the cache) first. */
    async scrape(log: FastifyBaseLogger): Promise<string> {
      await dbGauges.refresh(log);
      return registry.metrics();
    },
    /** CPU, memory, event loop, GC: only where the process is scraped (it starts a sampler). */
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** A counter that follows a cumulative count kept elsewhere: each scrape adds what it grew by. */
function cumulativeCounter(
  registry: Registry,
  spec: {
    name: string;
    help: string;
    label: string;
    initial: readonly string[];
    read: () => ReadonlyMap<string, number>;
  },
) {
  const counted = new Map<string, number>();
  const counter = new Counter({
    name: spec.name,
    help: spec.help,
    labelNames: [spec.label],
    registers: [registry],
    collect() {
      for (const [value, total] of spec.read()) {
        const grown = total - (counted.get(value) ?? 0);
        if (grown > 0) counter.inc({ [spec.label]: value }, grown);
        counted.set(value, total);
      }
    },
  });
  for (const value of spec.initial) counter.inc({ [spec.label]: value }, 0);
}
