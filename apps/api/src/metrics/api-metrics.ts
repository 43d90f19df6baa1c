import {
  type ClaimedJob,
  type Clock,
  counter,
  createMetricsRegistry,
  cumulativeCounter,
  type Db,
  histogram,
  JOB_OUTCOMES,
  jobsFinishedCounter,
  readGauge,
} from "@vwksp/core";
import type { FastifyBaseLogger } from "fastify";
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

/**
 * The API process's Prometheus metrics, in a registry of its own (tests build many apps in one
 * process). Counters are bumped on the request path — a few hundred nanoseconds each; gauges are
 * read when scraped.
 */
export function createApiMetrics(deps: { db: Db; clock: Clock }) {
  const { registry, collectProcessMetrics } = createMetricsRegistry();
  const dbGauges = registerDbGauges(registry, deps);

  const httpRequests = counter(registry, {
    name: "vwksp_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status.",
    labelNames: ["method", "route", "status"],
  });
  const httpDuration = histogram(registry, {
    name: "vwksp_http_request_duration_seconds",
    help: "HTTP request duration in seconds, by method and route pattern (the long-poll waits up to 300 s).",
    labelNames: ["method", "route"],
    buckets: DURATION_BUCKETS,
  });

  let longPollStats = () => ({ waiters: 0, clusters: 0 });
  readGauge(registry, {
    name: "vwksp_long_poll_waiters",
    help: "Agent long-polls waiting in this process.",
    read: () => longPollStats().waiters,
  });
  readGauge(registry, {
    name: "vwksp_long_poll_clusters",
    help: "Clusters with at least one waiting long-poll in this process.",
    read: () => longPollStats().clusters,
  });

  const deliveryLatency = histogram(registry, {
    name: "vwksp_job_delivery_latency_seconds",
    help: "Seconds from a job's enqueue to its first delivery to a poll (redeliveries are counted apart).",
    buckets: DELIVERY_LATENCY_BUCKETS,
  });
  const redeliveries = counter(registry, {
    name: "vwksp_job_redeliveries_total",
    help: "Jobs leased again after a lease or ack timeout ran out.",
  });
  const jobsFinished = jobsFinishedCounter(registry);
  const authFailures = counter(registry, {
    name: "vwksp_auth_failures_total",
    help: "Refused authentications, by credential (agent, registration, admin) and reason.",
    labelNames: ["credential", "reason"],
  });
  const eventsIngested = counter(registry, {
    name: "vwksp_events_ingested_total",
    help: "Agent events accepted, by kind (heartbeat, condition_transition, other); replays included.",
    labelNames: ["kind"],
  });
  const eventsRefused = counter(registry, {
    name: "vwksp_events_refused_total",
    help: "Event batches refused, by the error code of the answer.",
    labelNames: ["reason"],
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
    collectProcessMetrics,
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
