import { randomUUID } from "node:crypto";
import type { ClusterInfo, Condition, JobResultBody } from "@vwksp/protocol";
import type { ClusterBackend } from "../backends/backend.ts";
import type { Fetch } from "../client/http.ts";
import { kubeTime, systemTiming, type Timing } from "../clock.ts";
import type { CredentialStore, Credentials } from "../credentials/credentials.ts";
import { errorMessage } from "../errors.ts";
import { createEventBatcher } from "../events/batcher.ts";
import {
  bufferOverflowEvent,
  clusterResourceRef,
  conditionTransitions,
  credentialRotatedEvent,
  DEFAULT_CLUSTER_NAME,
  heartbeatEvent,
} from "../events/conditions.ts";
import type { Logger } from "../log.ts";
import { backoffDelay, classifyFailure } from "../retry.ts";
import { createSignatureVerifier } from "../signature.ts";
import { AGENT_VERSION } from "../version.ts";
import { type JobContext, processJob, processRejectedJob } from "./process-job.ts";
import { AgentStopped, createSession, type FatalKind } from "./session.ts";
import { createTelemetry, type Telemetry } from "./telemetry.ts";

export interface AgentOptions {
  store: CredentialStore;
  credentials: Credentials;
  backend: ClusterBackend;
  log: Logger;
  timing?: Timing;
  fetch?: Fetch;
  /** Long-poll wait in seconds (the server holds the poll at most this long). */
  waitSeconds?: number;
  heartbeatIntervalMs?: number;
  requireSignatures?: boolean;
  /** How long a stop may take to finish the current job and flush events. */
  stopTimeoutMs?: number;
  flushIntervalMs?: number;
  runId?: string;
  /** The name of the agent's own Cluster resource, like the operator's `--cluster-name`. */
  clusterName?: string;
  /** Metrics and readiness; the agent makes its own (unserved) when none is given. */
  telemetry?: Telemetry;
}

export type AgentExit = { reason: "stopped" } | { reason: FatalKind; message: string };

/** The pull-mode agent: long-poll, ack, apply, result; events, heartbeats and a graceful stop. */
export function createAgent(options: AgentOptions) {
  const timing = options.timing ?? systemTiming;
  const { log, backend } = options;
  const runId = options.runId ?? randomUUID();
  const clusterId = options.credentials.clusterId;
  const clusterName = options.clusterName ?? DEFAULT_CLUSTER_NAME;
  const cluster = clusterResourceRef(clusterName, runId);
  const conditions = new Map<string, Condition>();
  const telemetry =
    options.telemetry ??
    createTelemetry({
      clock: timing.clock,
      staleAfterMs: readinessWindowMs(options.waitSeconds ?? 30, options.heartbeatIntervalMs ?? 30_000),
    });
  // Credentials are loaded: this agent is registered.
  telemetry.registered();
  const pollAbort = new AbortController();
  const hardStop = new AbortController();
  let stopRequested: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  let stopping = false;
  let exit: AgentExit = { reason: "stopped" };

  const session = createSession({
    store: options.store,
    credentials: options.credentials,
    timing,
    log,
    fetch: options.fetch,
    onFatal: (kind, error) => {
      exit = { reason: kind, message: error.serverMessage };
      if (kind === "unauthorized")
        setClusterCondition("Authenticated", "False", "CredentialRejected", error.serverMessage);
      else setClusterCondition("Connected", "False", "Forbidden", error.serverMessage);
      stop();
    },
    onRotated: () => events.enqueue(credentialRotatedEvent(cluster, timing.clock.now())),
    onContact: (ok, label, message) => {
      if (ok) return telemetry.contactSucceeded();
      telemetry.contactFailed(message ?? "unknown error");
      // A poll the session retries never reaches the poll loop's own catch.
      if (label === "poll") telemetry.polled("error");
    },
  });

  const condition = (
    type: string,
    status: Condition["status"],
    reason: string,
    message: string,
  ): Condition => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: kubeTime(timing.clock.now()),
  });

  const events = createEventBatcher({
    send: (batch, signal) =>
      session.call((api) => api.postEvents(batch, signal), { label: "posting events", signal, attempts: 1 }),
    isPoison: (error) => classifyFailure(error) === "fatal",
    overflowEvent: (dropped) => bufferOverflowEvent(cluster, dropped, timing.clock.now()),
    timing,
    log: (message) => log.warn(message),
    onSent: (count) => telemetry.eventsSent(count),
    onRefused: (count) => telemetry.eventsRefused(count),
    onDropped: (count) => telemetry.eventsDropped(count),
    ...(options.flushIntervalMs ? { flushIntervalMs: options.flushIntervalMs } : {}),
  });

  /** Agent-side conditions live on the Cluster resource; only changes are reported. */
  function setClusterCondition(type: string, status: Condition["status"], reason: string, message: string) {
    const previous = conditions.get(type);
    if (previous?.status === status && previous.reason === reason && previous.message === message) return;
    const next = condition(type, status, reason, message);
    conditions.set(type, next);
    log.info(
      `Cluster ${clusterName} condition ${type}=${status} (${reason})${status === "True" ? "" : `: ${message}`}`,
    );
    events.enqueue(...conditionTransitions(cluster, previous ? [previous] : [], [next], timing.clock.now()));
  }

  // The operator's Cluster reconciler sets these after each heartbeat round trip (its
  // Authenticated=False on any failed heartbeat is left out: a timeout says nothing about the token).
  function roundTripSucceeded() {
    setClusterCondition(
      "Connected",
      "True",
      "RoundTripOK",
      "Recent round-trip to the control plane succeeded",
    );
    setClusterCondition("Disconnected", "False", "Connected", "Connection is alive");
    setClusterCondition("Authenticated", "True", "CredentialAccepted", "Bearer token accepted");
  }
  function roundTripFailed(error: unknown) {
    setClusterCondition("Connected", "False", "ControlPlaneUnreachable", errorMessage(error));
    setClusterCondition("Disconnected", "True", "NoRecentRoundTrip", errorMessage(error));
  }

  const context: JobContext = {
    session,
    backend,
    idempotency: options.store.idempotency(clusterId),
    verify: createSignatureVerifier(options.credentials.signingPublicKey),
    requireSignatures: options.requireSignatures ?? false,
    timing,
    log,
    signal: hardStop.signal,
    pending: new Map<string, JobResultBody>(),
    telemetry,
  };

  async function pollLoop() {
    const wait = options.waitSeconds ?? 30;
    for (let failures = 0; !stopping; ) {
      try {
        const polled = await session.call((api) => api.pollJobs(wait, pollAbort.signal), {
          label: "poll",
          signal: pollAbort.signal,
        });
        failures = 0;
        telemetry.polled("ok");
        for (const job of polled.jobs) telemetry.jobReceived(job.kind);
        if (polled.rejected.length > 0) telemetry.jobReceived("invalid", polled.rejected.length);
        for (const job of polled.rejected) if (!stopping) await processRejectedJob(context, job);
        // A stop lets the job in hand finish; the rest were never acked and will be redelivered.
        for (const job of polled.jobs) if (!stopping) await processJob(context, job);
      } catch (error) {
        if (error instanceof AgentStopped || stopping) break;
        telemetry.polled("error");
        // Not retried by the session (e.g. a 400): still never spin.
        log.error(`poll failed: ${errorMessage(error)}`);
        await timing.sleep(backoffDelay(failures++, timing.random), pollAbort.signal);
      }
    }
  }

  async function clusterInfo(): Promise<ClusterInfo> {
    const kubernetesVersion = await backend.version().catch(() => undefined);
    return { operatorVersion: AGENT_VERSION, ...(kubernetesVersion ? { kubernetesVersion } : {}) };
  }

  async function heartbeatLoop() {
    const interval = options.heartbeatIntervalMs ?? 30_000;
    while (!stopping) {
      try {
        const beat = heartbeatEvent(clusterId, await clusterInfo(), timing.clock.now());
        await session.call((api) => api.postEvents([beat], pollAbort.signal), {
          label: "heartbeat",
          signal: pollAbort.signal,
          attempts: 1,
        });
        telemetry.eventsSent(1);
        roundTripSucceeded();
      } catch (error) {
        if (error instanceof AgentStopped || stopping) break;
        log.warn(`heartbeat failed: ${errorMessage(error)}`);
        telemetry.heartbeatFailed();
        roundTripFailed(error);
      }
      await timing.sleep(interval, pollAbort.signal);
    }
  }

  function stop() {
    if (stopping) return;
    stopping = true;
    telemetry.stopping();
    // Ends the long-poll in flight at once; the job in hand keeps going until the deadline.
    pollAbort.abort();
    stopRequested();
  }

  async function run(): Promise<AgentExit> {
    backend.watch?.((ref, previous, next) =>
      events.enqueue(...conditionTransitions(ref, previous, next, timing.clock.now())),
    );
    events.start();
    log.info(
      `agent ${AGENT_VERSION} started: cluster ${clusterId} (Cluster ${clusterName} in ${cluster.namespace}), backend ${backend.name}, run ${runId}`,
    );
    const loops = Promise.all([pollLoop(), heartbeatLoop()]);
    await stopped;

    const deadline = new AbortController();
    void timing.sleep(options.stopTimeoutMs ?? 25_000, hardStop.signal).then(() => deadline.abort());
    const deadlineReached = new Promise<void>((resolve) =>
      deadline.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    deadline.signal.addEventListener("abort", () => hardStop.abort(), { once: true });
    // A cluster call that hangs must not hold the process past the stop timeout.
    await Promise.race([loops, deadlineReached]);
    if (deadline.signal.aborted) log.warn("the job in hand did not finish before the stop timeout");
    await backend.close();
    const flushed = await events.stop(deadline.signal);
    if (!flushed) log.warn(`stopped with ${events.size()} event(s) undelivered`);
    hardStop.abort();
    log.info(`agent stopped (${exit.reason})`);
    return exit;
  }

  return { run, stop, runId, events, setClusterCondition, telemetry };
}

export type Agent = ReturnType<typeof createAgent>;

/**
 * How long after its last successful contact the agent still counts as ready: a long-poll
 * comes back at least every `waitSeconds`, a heartbeat goes out every interval; twice the
 * longer of the two, plus 10 s for a slow answer.
 */
export function readinessWindowMs(waitSeconds: number, heartbeatIntervalMs: number): number {
  return 2 * Math.max(waitSeconds * 1000, heartbeatIntervalMs) + 10_000;
}
