import type { Condition, ObjectRef } from "@vwksp/protocol";
import type { KubeObject, KubeRef } from "../kube/kube.ts";

/** A resource's conditions changed (e.g. an ApplicationInstance became Ready). */
export type TransitionListener = (ref: ObjectRef, previous: Condition[], next: Condition[]) => void;

/** Where jobs land: a real cluster, or a directory for development and end-to-end tests. */
export interface ClusterBackend {
  readonly name: string;
  /** Server-side apply; answers the stored object's reference with its uid and generation. */
  apply(object: KubeObject): Promise<ObjectRef>;
  get(ref: KubeRef): Promise<KubeObject | undefined>;
  /** False when there was nothing to delete. */
  remove(ref: KubeRef): Promise<boolean>;
  /** The cluster's version for heartbeats (e.g. `v1.31.2`), when it can be read. */
  version(): Promise<string | undefined>;
  /** Reports condition changes the backend observes. */
  watch?(listener: TransitionListener): void;
  close(): Promise<void>;
}

export function refOf(object: KubeObject): ObjectRef {
  const { uid, generation } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace ?? "",
    name: object.metadata.name,
    ...(uid ? { uid } : {}),
    ...(typeof generation === "number" ? { generation } : {}),
  };
}
