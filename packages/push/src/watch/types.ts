import type { AgentEvent, ObjectRef } from "@vwksp/protocol";

/**
 * What the watches report, each carrying the AgentEvent the service's event ingestion takes
 * unchanged (`events.ingest(principal, [change.event])` with the cluster's principal).
 */
export type PushChange =
  /**
   * A condition of an ApplicationInstance, an Operation or the Cluster CR appeared or changed
   * status, reason or message: one event per condition, keyed as the operator keys them.
   */
  | { type: "ConditionTransition"; event: AgentEvent }
  /**
   * The Cluster CR's status.lastHeartbeat moved (or was first seen). The event is the Go client's
   * heartbeat (no eventKey, no conditions) naming the cluster by the control plane's id, with
   * `timestamp` = lastHeartbeat. The service's heartbeat coalescer stamps the time it receives
   * a heartbeat, so a caller should pass on only a fresh one (compare `lastHeartbeat` with now):
   * a first list after an outage shows the last heartbeat before it.
   */
  | { type: "ClusterHeartbeat"; event: AgentEvent; lastHeartbeat: string; clusterResource: ObjectRef };

/** The health of one list+watch stream. */
export interface StreamHealth {
  resource: "applicationinstances" | "operations" | "clusters";
  /** Absent for the cluster-scoped Cluster CR(s). */
  namespace?: string;
  /** A watch request is open and the server accepted it. */
  connected: boolean;
  /** When the last list answered or the last watch event (bookmarks included) arrived. */
  lastEventAt?: string;
  /** Lists after the first: on 410 Gone (the watch's history was compacted). */
  relists: number;
  /** Watches opened after the first. */
  reconnects: number;
  /** The resourceVersion the next watch resumes from. */
  resourceVersion?: string;
  lastError?: { reason: string; message: string; at: string };
}

export interface WatchHealth {
  /** Every stream connected. */
  connected: boolean;
  streams: StreamHealth[];
}
