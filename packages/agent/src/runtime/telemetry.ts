import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { type Clock, systemClock } from "../clock.ts";

export type JobOutcome = "succeeded" | "failed" | "conflict" | "noop";

export interface TelemetryOptions {
  clock?: Clock;
  /**
   * How old the last successful contact with the control plane may be for the agent to count
   * as ready. A long-poll comes back at least every `--wait` seconds and a heartbeat goes out
   * every `--heartbeat-interval`, so twice the longer of the two, plus slack, is "recently".
   */
  staleAfterMs: number;
  /** Node's process metrics too (CPU, memory, event loop lag); only when served. */
  processMetrics?: boolean;
}

export interface Readiness {
  ready: boolean;
  reason: string;
}

/**
 * What the agent reports about itself: Prometheus counters for `/metrics` and the state that
 * `/readyz` answers from. One registry per agent, never the global one.
 */
export function createTelemetry(options: TelemetryOptions) {
  const clock = options.clock ?? systemClock;
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "vwksp_agent_" });

  const polls = new Counter({
    name: "vwksp_agent_polls_total",
    help: "Long-polls answered by the control plane (ok) or failed (error)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const jobsReceived = new Counter({
    name: "vwksp_agent_jobs_received_total",
    help: "Jobs delivered by a poll, by kind (invalid: refused by the schema)",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const jobsApplied = new Counter({
    name: "vwksp_agent_jobs_applied_total",
    help: "Jobs applied to the cluster, by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const jobsFailed = new Counter({
    name: "vwksp_agent_jobs_failed_total",
    help: "Jobs reported failed or conflicting, by kind",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const jobsSkipped = new Counter({
    name: "vwksp_agent_jobs_skipped_total",
    help: "Jobs answered noop (expired, or already applied), by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const eventsSent = new Counter({
    name: "vwksp_agent_events_sent_total",
    help: "Events the control plane accepted (heartbeats included)",
    registers: [registry],
  });
  const eventsRefused = new Counter({
    name: "vwksp_agent_events_refused_total",
    help: "Events dropped because the control plane refused their batch",
    registers: [registry],
  });
  const eventsDropped = new Counter({
    name: "vwksp_agent_events_dropped_total",
    help: "Events lost to the bounded buffer while the control plane was unreachable",
    registers: [registry],
  });
  const heartbeatFailures = new Counter({
    name: "vwksp_agent_heartbeat_failures_total",
    help: "Heartbeats that did not reach the control plane",
    registers: [registry],
  });
  const lastContact = new Gauge({
    name: "vwksp_agent_last_contact_timestamp_seconds",
    help: "Unix time of the last request the control plane answered successfully (0: never)",
    registers: [registry],
  });
  const readyGauge = new Gauge({
    name: "vwksp_agent_ready",
    help: "1 when the agent is registered and its last contact with the control plane succeeded recently",
    registers: [registry],
    collect() {
      this.set(readiness().ready ? 1 : 0);
    },
  });
  void readyGauge;
  for (const outcome of ["ok", "error"]) polls.inc({ outcome }, 0);
  lastContact.set(0);

  let registered = false;
  let stopping = false;
  let lastSuccessAt: number | undefined;
  let lastFailure: { at: number; message: string } | undefined;

  function readiness(): Readiness {
    if (!registered) return { ready: false, reason: "not registered: no credential loaded" };
    if (stopping) return { ready: false, reason: "stopping" };
    if (lastSuccessAt === undefined) {
      return {
        ready: false,
        reason: lastFailure
          ? `no successful contact with the control plane yet: ${lastFailure.message}`
          : "no contact with the control plane yet",
      };
    }
    if (lastFailure && lastFailure.at > lastSuccessAt) {
      return {
        ready: false,
        reason: `the last contact with the control plane failed: ${lastFailure.message}`,
      };
    }
    const age = clock.now().getTime() - lastSuccessAt;
    if (age > options.staleAfterMs) {
      return {
        ready: false,
        reason: `no successful contact with the control plane for ${Math.round(age / 1000)} s`,
      };
    }
    return { ready: true, reason: "registered; the last contact with the control plane succeeded" };
  }

  return {
    registry,
    readiness,
    registered() {
      registered = true;
    },
    stopping() {
      stopping = true;
    },
    /** Any request the control plane answered as expected (poll, heartbeat, ack, result, events). */
    contactSucceeded() {
      const now = clock.now().getTime();
      lastSuccessAt = now;
      lastContact.set(now / 1000);
    },
    contactFailed(message: string) {
      lastFailure = { at: clock.now().getTime(), message };
    },
    polled(outcome: "ok" | "error") {
      polls.inc({ outcome });
    },
    jobReceived(kind: string, count = 1) {
      jobsReceived.inc({ kind }, count);
    },
    jobDone(kind: string, outcome: JobOutcome) {
      if (outcome === "succeeded") jobsApplied.inc({ kind });
      else if (outcome === "noop") jobsSkipped.inc({ kind });
      else jobsFailed.inc({ kind, outcome });
    },
    eventsSent(count: number) {
      eventsSent.inc(count);
    },
    eventsRefused(count: number) {
      eventsRefused.inc(count);
    },
    eventsDropped(count: number) {
      eventsDropped.inc(count);
    },
    heartbeatFailed() {
      heartbeatFailures.inc();
    },
  };
}

export type Telemetry = ReturnType<typeof createTelemetry>;
