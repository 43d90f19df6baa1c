import { type Condition, withCondition } from "./conditions.ts";
import { applyObject, createObject, deleteObject, readObject, type Target, updateObject } from "./objects.ts";
import type { ServerState } from "./state.ts";
import { formatTime, type Json, type KubeObject, type ObjectRef } from "./types.ts";

/** The operator's field manager for status writes. */
export const OPERATOR_MANAGER = "vworkspace-operator";

/**
 * What a test does to the cluster behind the clients' backs: objects written by other managers
 * (kubectl, helm, the operator), read back, removed; status set as the operator sets it.
 */
export function createObjectControls(state: ServerState) {
  function targetOf(ref: ObjectRef, scope: Target["scope"] = "main"): Target {
    const resource = state.catalog.byKind(ref.apiVersion, ref.kind);
    if (!resource) throw new Error(`kube-fake: ${ref.apiVersion} ${ref.kind} is not served`);
    const namespace = resource.namespaced ? (ref.namespace ?? "default") : undefined;
    return { resource, namespace, name: ref.name, scope };
  }

  const refOf = (object: KubeObject): ObjectRef => ({
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.metadata.namespace,
    name: object.metadata.name,
  });

  function setStatus(
    ref: ObjectRef,
    status: (current: unknown, object: KubeObject) => Json,
    manager: string,
  ) {
    const target = targetOf(ref, "status");
    const live = readObject(state, target);
    if (!live) throw new Error(`kube-fake: ${ref.kind} ${ref.namespace ?? ""}/${ref.name} does not exist`);
    return updateObject(state, target, live, { ...live, status: status(live.status, live) }, manager);
  }

  return {
    /** The stored object (with uid, resourceVersion, managedFields), or undefined. */
    get: (ref: ObjectRef) => readObject(state, targetOf(ref)),
    list: (apiVersion: string, kind: string, namespace?: string) => {
      const { resource } = targetOf({ apiVersion, kind, name: "" });
      return state.store.list(resource, resource.namespaced ? namespace : undefined);
    },
    /** Creates or updates an object as a non-apply write by `manager` (kubectl create/edit). */
    put(object: KubeObject, manager = "kubectl") {
      const target = targetOf(refOf(object));
      const live = readObject(state, target);
      if (!live) return createObject(state, target, object, manager);
      return updateObject(
        state,
        target,
        live,
        { ...object, metadata: { ...live.metadata, ...object.metadata } },
        manager,
      );
    },
    /** Server-side applies an object as another manager (helm, flux, …). */
    apply: (object: KubeObject, manager: string, force = false) =>
      applyObject(state, targetOf(refOf(object)), object, { manager, force }).object,
    /** Deletes as the API would (finalizers hold it back); undefined when it did not exist. */
    remove(ref: ObjectRef) {
      const target = targetOf(ref);
      return readObject(state, target) ? deleteObject(state, target).object : undefined;
    },
    /** Replaces .status through the status subresource, as the operator's status writer does. */
    setStatus: (ref: ObjectRef, status: Json, manager = OPERATOR_MANAGER) =>
      setStatus(ref, () => status, manager),
    /** Sets one condition (Ready, Connected, …) the way meta.SetStatusCondition does. */
    setCondition: (ref: ObjectRef, condition: Condition, manager = OPERATOR_MANAGER) =>
      setStatus(
        ref,
        (current, object) =>
          withCondition(current, condition, object.metadata.generation, formatTime(state.now())),
        manager,
      ),
    /** The Cluster CR's heartbeat: status.lastHeartbeat now and Connected=True. */
    heartbeat: (clusterName: string, at: Date = state.now()) =>
      setStatus(
        { apiVersion: "ops.vworkspace.io/v1alpha1", kind: "Cluster", name: clusterName },
        (current, object) => ({
          ...withCondition(
            current,
            { type: "Connected", status: "True", reason: "HeartbeatSucceeded" },
            object.metadata.generation,
            formatTime(at),
          ),
          lastHeartbeat: formatTime(at),
        }),
        OPERATOR_MANAGER,
      ),
  };
}
