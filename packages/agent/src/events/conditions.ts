import {
  type AgentEvent,
  CLUSTER_RESOURCE,
  type ClusterInfo,
  type Condition,
  type ObjectRef,
} from "@vwksp/protocol";
import { kubeTime } from "../clock.ts";

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

/** Where the operator's Cluster CR lives, and its name when `--cluster-name` is not given. */
export const CLUSTER_NAMESPACE = "vworkspace-system";
export const DEFAULT_CLUSTER_NAME = "cluster-local";

/**
 * The agent's own Cluster resource, named like the operator's Cluster CR (`--cluster-name`, in
 * vworkspace-system): the operator's Cluster reconciler reports its conditions about that CR, not
 * about our id. The agent has no CR: `uid` is the id of this agent run (a new run is a new
 * object, whose reports start afresh) and the generation is the first one.
 */
export const clusterResourceRef = (name: string, runId: string): ObjectRef => ({
  ...CLUSTER_RESOURCE,
  namespace: CLUSTER_NAMESPACE,
  name,
  uid: runId,
  generation: 1,
});

/**
 * Exactly the Go client's heartbeat (no eventKey, no conditions, the Cluster named by the control
 * plane's id: the one event that does) plus our `cluster` versions.
 */
export function heartbeatEvent(clusterId: string, cluster: ClusterInfo, now: Date): AgentEvent {
  return {
    kind: CLUSTER_HEARTBEAT,
    resourceRef: { ...CLUSTER_RESOURCE, namespace: "", name: clusterId },
    timestamp: now.toISOString(),
    cluster,
  };
}

/** The operator's audit event after a credential rotation (its condition has no transition time). */
export function credentialRotatedEvent(ref: ObjectRef, now: Date): AgentEvent {
  return {
    eventKey: `CredentialRotated/${ref.uid ?? ""}/Authenticated`,
    kind: "CredentialRotated",
    resourceRef: ref,
    conditions: [
      {
        type: "Authenticated",
        status: "True",
        reason: "CredentialRotated",
        message: "Bootstrap credential rotated successfully",
        lastTransitionTime: null,
      },
    ],
    timestamp: now.toISOString(),
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
        reason: "EventBufferFull",
        message: bufferOverflowMessage(dropped),
      }
    : {
        type: "BufferOverflow",
        status: "False",
        reason: "BufferDrained",
        message: "Outbound event buffer has drained successfully",
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
