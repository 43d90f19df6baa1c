import type { AgentEvent, ClusterInfo, Condition, ObjectRef } from "@vwksp/protocol";
import { kubeTime } from "../clock.ts";

export const CLUSTER_API_VERSION = "ops.vworkspace.io/v1alpha1";
export const CONDITION_TRANSITION = "ConditionTransition";
export const CLUSTER_HEARTBEAT = "ClusterHeartbeat";

/** `condition/{apiVersion}/{kind}/{ns|_}/{name}/{uid|_}/{type}/{status}@{generation}` (the contract's key). */
export function conditionEventKey(ref: ObjectRef, condition: Pick<Condition, "type" | "status">): string {
  const namespace = ref.namespace?.trim() || "_";
  const uid = ref.uid?.trim() || "_";
  return `condition/${ref.apiVersion}/${ref.kind}/${namespace}/${ref.name}/${uid}/${condition.type}/${condition.status}@${ref.generation ?? 0}`;
}

/** One event per condition that appeared or changed status, reason or message (as the Go reporter). */
export function conditionTransitions(
  ref: ObjectRef,
  previous: Condition[],
  next: Condition[],
  now: Date,
): AgentEvent[] {
  const before = new Map(previous.map((condition) => [condition.type, condition]));
  return next
    .filter((condition) => {
      const old = before.get(condition.type);
      return (
        !old ||
        old.status !== condition.status ||
        old.reason !== condition.reason ||
        old.message !== condition.message
      );
    })
    .map((condition) => ({
      eventKey: conditionEventKey(ref, condition),
      kind: CONDITION_TRANSITION,
      resourceRef: ref,
      conditions: [condition],
      timestamp: now.toISOString(),
    }));
}

/**
 * The agent's own Cluster resource. `uid` is the id of this agent run: agent-side conditions
 * (Connected, BufferOverflow, Authenticated) are not generations of a CR, so a run is the
 * identity that keeps one run's replays de-duplicated without swallowing the next run's reports.
 */
export const clusterRef = (clusterId: string, runId?: string): ObjectRef => ({
  apiVersion: CLUSTER_API_VERSION,
  kind: "Cluster",
  namespace: "",
  name: clusterId,
  ...(runId ? { uid: runId } : {}),
});

/** Exactly the Go client's heartbeat (no eventKey, no conditions) plus our `cluster` versions. */
export function heartbeatEvent(clusterId: string, cluster: ClusterInfo, now: Date): AgentEvent {
  return {
    kind: CLUSTER_HEARTBEAT,
    resourceRef: clusterRef(clusterId),
    timestamp: now.toISOString(),
    cluster,
  };
}

export const bufferOverflowMessage = (dropped: number) =>
  `Dropped ${dropped} outbound event(s) because the buffer is full; verify control plane connectivity and that events are being accepted`;

/** BufferOverflow=True for `dropped` lost events, or its clearing (`dropped` undefined). */
export function bufferOverflowEvent(ref: ObjectRef, dropped: number | undefined, now: Date): AgentEvent {
  const condition: Condition = dropped
    ? {
        type: "BufferOverflow",
        status: "True",
        reason: "EventsDropped",
        message: bufferOverflowMessage(dropped),
      }
    : {
        type: "BufferOverflow",
        status: "False",
        reason: "BufferDrained",
        message: "outbound events are flowing again",
      };
  condition.lastTransitionTime = kubeTime(now);
  return {
    eventKey: conditionEventKey(ref, condition),
    kind: CONDITION_TRANSITION,
    resourceRef: ref,
    conditions: [condition],
    timestamp: now.toISOString(),
  };
}
