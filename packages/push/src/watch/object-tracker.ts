import type { Condition, ObjectRef } from "@vwksp/protocol";
import { apiVersionOf, CLUSTERS, type VworkspaceResource } from "../resources.ts";
import {
  CLUSTER_HEARTBEAT,
  changedConditions,
  conditionsOf,
  isRfc3339,
  refOf,
  transitionEvent,
} from "./conditions.ts";
import type { PushChange } from "./types.ts";

type Json = Record<string, unknown>;

interface Known {
  uid: string | undefined;
  conditions: Condition[];
  lastHeartbeat: string | undefined;
}

export interface ObjectTrackerDeps {
  resource: VworkspaceResource;
  /** The control plane's id of the cluster: heartbeats name it. */
  clusterId: string;
  emit: (change: PushChange) => Promise<void>;
  now: () => Date;
}

/** The heartbeat as the Go client posts it: the Cluster named by the control plane's id. */
const heartbeat = (clusterId: string, lastHeartbeat: string, clusterResource: ObjectRef): PushChange => ({
  type: "ClusterHeartbeat",
  lastHeartbeat,
  clusterResource,
  event: {
    kind: CLUSTER_HEARTBEAT,
    resourceRef: { apiVersion: apiVersionOf(CLUSTERS), kind: CLUSTERS.kind, namespace: "", name: clusterId },
    timestamp: lastHeartbeat,
  },
});

/**
 * What was last seen of each object of one stream, and the changes between that and what is
 * seen now: condition transitions (the reporter's rules) and, for the Cluster CR, heartbeats.
 * The memory moves only after every change of an object was taken, so a change the handler
 * refused is found again when the object is offered again.
 */
export function createObjectTracker({ resource, clusterId, emit, now }: ObjectTrackerDeps) {
  const known = new Map<string, Known>();
  const keyOf = (ref: ObjectRef) => `${ref.namespace ?? ""}/${ref.name}`;

  async function upsert(object: Json) {
    const ref = refOf(object, apiVersionOf(resource), resource.kind);
    const before = known.get(keyOf(ref));
    // A new uid is a new object (deleted and created again): it has no conditions yet.
    const same = before !== undefined && before.uid === ref.uid;
    const conditions = conditionsOf(object);
    const observedAt = now();
    for (const condition of changedConditions(same ? before.conditions : [], conditions)) {
      await emit({ type: "ConditionTransition", event: transitionEvent(ref, condition, observedAt) });
    }
    const status = (object.status ?? {}) as Json;
    const lastHeartbeat =
      resource === CLUSTERS && isRfc3339(status.lastHeartbeat) ? status.lastHeartbeat : undefined;
    if (lastHeartbeat && lastHeartbeat !== (same ? before.lastHeartbeat : undefined)) {
      await emit(heartbeat(clusterId, lastHeartbeat, ref));
    }
    known.set(keyOf(ref), { uid: ref.uid, conditions, lastHeartbeat });
  }

  /** A delete reports nothing (as the operator: a delete produces only the job's result). */
  function remove(object: Json) {
    known.delete(keyOf(refOf(object, apiVersionOf(resource), resource.kind)));
  }

  /** A full list: what is gone is forgotten, the rest compared as if it had just changed. */
  async function replace(objects: Json[]) {
    const listed = new Set(objects.map((object) => keyOf(refOf(object, "", ""))));
    for (const key of [...known.keys()]) if (!listed.has(key)) known.delete(key);
    for (const object of objects) await upsert(object);
  }

  return { upsert, remove, replace, size: () => known.size };
}

export type ObjectTracker = ReturnType<typeof createObjectTracker>;
