import type { ApplicationState, ClosedJobState, Condition } from "@vwksp/protocol";
import { describeCondition } from "../health/cluster-health.ts";

// The states are the protocol's ApplicationState (the OpenAPI enum); the arrows between them are
// `nextApplicationState` below and nothing else. docs/application-states.md draws them.

export interface ApplicationSnapshot {
  state: ApplicationState;
  lastJobId: string | null;
  /** The ApplicationInstance the latest request's succeeded job applied (uid, generation). */
  appliedUid: string | null;
  appliedGeneration: number | null;
}

/** What the cluster last reported about the application's ApplicationInstance (its ResourceStatus). */
export interface ObservedResource {
  uid: string | null;
  generation: number | null;
  conditions: Condition[];
}

export type { ClosedJobState };

export type ApplicationSignal =
  /** An admin (or Odoo) asked for the application; `jobId` carries the request. */
  | { kind: "deploy-requested"; jobId: string }
  | { kind: "delete-requested"; jobId: string }
  /** The job of the latest request closed, with what the agent reported. */
  | {
      kind: "job-closed";
      jobId: string;
      intent: "deploy" | "delete";
      jobState: ClosedJobState;
      error: string | null;
      appliedRef: { uid?: string | undefined; generation?: number | undefined } | null;
      resource: ObservedResource | null;
    }
  /** The ApplicationInstance's conditions changed. */
  | { kind: "resource-observed"; resource: ObservedResource };

export interface ApplicationChange {
  state: ApplicationState;
  reason: string | null;
  appliedUid: string | null;
  appliedGeneration: number | null;
}

type Verdict = { state: "deployed" | "not_ready" | "degraded"; reason: string };

/** Degraded=True is worse than anything; then Ready decides; without either, nothing is known. */
function verdictOf(conditions: Condition[]): Verdict | undefined {
  const find = (type: string, status: Condition["status"]) =>
    conditions.find((condition) => condition.type === type && condition.status === status);
  const degraded = find("Degraded", "True");
  if (degraded) return { state: "degraded", reason: describeCondition(degraded) };
  const ready = find("Ready", "True");
  if (ready) return { state: "deployed", reason: describeCondition(ready) };
  const notReady = find("Ready", "False");
  if (notReady) return { state: "not_ready", reason: describeCondition(notReady) };
  return undefined;
}

/** Whether the observed object is the one applied (same uid) at that generation or later. */
function isApplied(resource: ObservedResource, uid: string | null, generation: number | null): boolean {
  if (uid && resource.uid && uid !== resource.uid) return false;
  if (generation !== null && (resource.generation === null || resource.generation < generation)) return false;
  return true;
}

/** A state no object stands behind (yet, or any more). */
const settled = (state: ApplicationState, reason: string | null): ApplicationChange => ({
  state,
  reason,
  appliedUid: null,
  appliedGeneration: null,
});

/** The state a succeeded (or replayed) deploy job leads to, from what is known of the resource. */
function afterDeploySucceeded(signal: Extract<ApplicationSignal, { kind: "job-closed" }>): ApplicationChange {
  // A replay (noop without error) carries no appliedRef: the object as last reported is the one.
  const uid = signal.appliedRef?.uid ?? signal.resource?.uid ?? null;
  const generation = signal.appliedRef?.generation ?? signal.resource?.generation ?? null;
  const verdict =
    signal.resource && isApplied(signal.resource, uid, generation)
      ? verdictOf(signal.resource.conditions)
      : undefined;
  // An unchanged spec keeps the generation and brings no new transition: Ready=True at that
  // generation, known already, is the answer.
  const state = verdict?.state === "deployed" || verdict?.state === "degraded" ? verdict.state : "deploying";
  return { state, reason: verdict?.reason ?? null, appliedUid: uid, appliedGeneration: generation };
}

function afterJobClosed(
  app: ApplicationSnapshot,
  signal: Extract<ApplicationSignal, { kind: "job-closed" }>,
): ApplicationChange | undefined {
  const awaiting = signal.intent === "deploy" ? "requested" : "deleting";
  // Only the latest request's job settles the application, and only once.
  if (signal.jobId !== app.lastJobId || app.state !== awaiting) return undefined;
  const done = signal.jobState === "succeeded" || (signal.jobState === "noop" && !signal.error);
  if (!done) {
    const why = signal.error ? `: ${signal.error}` : "";
    return settled("failed", `job ${signal.jobId} ${signal.jobState}${why}`);
  }
  return signal.intent === "delete" ? settled("deleted", null) : afterDeploySucceeded(signal);
}

const RUNNING: ReadonlySet<ApplicationState> = new Set(["deployed", "not_ready", "degraded"]);

function afterResourceObserved(
  app: ApplicationSnapshot,
  resource: ObservedResource,
): ApplicationChange | undefined {
  const verdict = verdictOf(resource.conditions);
  if (!verdict) return undefined;
  const applied = { appliedUid: app.appliedUid ?? resource.uid, appliedGeneration: app.appliedGeneration };
  if (app.state === "deploying") {
    if (!isApplied(resource, app.appliedUid, app.appliedGeneration)) return undefined;
    // Not ready yet is what deploying means; the reason says how far it got.
    const state = verdict.state === "not_ready" ? "deploying" : verdict.state;
    return { state, reason: verdict.reason, ...applied };
  }
  // Once deployed, the object's own reports move it (an older object's late ones do not).
  if (RUNNING.has(app.state)) {
    if (!isApplied(resource, app.appliedUid, null)) return undefined;
    return { state: verdict.state, reason: verdict.reason, ...applied };
  }
  // requested, failed, deleting, deleted: the cluster's reports wait for the request's outcome.
  return undefined;
}

/**
 * The application state machine: the one place that decides where an application goes. Returns
 * undefined when the signal changes nothing.
 */
export function nextApplicationState(
  app: ApplicationSnapshot,
  signal: ApplicationSignal,
): ApplicationChange | undefined {
  switch (signal.kind) {
    case "deploy-requested":
      return settled("requested", null);
    case "delete-requested":
      return settled("deleting", null);
    case "job-closed":
      return afterJobClosed(app, signal);
    case "resource-observed":
      return afterResourceObserved(app, signal.resource);
  }
}
