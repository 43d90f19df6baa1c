import { recordUpdate, serverSideApply } from "./apply.ts";
import type { Scope } from "./managed-fields.ts";
import { groupVersionOf, type ResourceType } from "./resources.ts";
import type { ServerState } from "./state.ts";
import { alreadyExists, modifiedConflict, notFound } from "./status.ts";
import { prepareCreate, prepareUpdate, unchanged, validateName } from "./strategy.ts";
import { formatTime, type KubeObject } from "./types.ts";

/** Where a write lands: one object of one resource, main resource or /status. */
export interface Target {
  resource: ResourceType;
  namespace: string | undefined;
  name: string;
  scope: Scope;
}

export interface WriteResult {
  created: boolean;
  object: KubeObject;
}

const namespaces = (state: ServerState) => state.catalog.byPlural("v1", "namespaces") as ResourceType;

/** Creating in a missing namespace fails the way the NamespaceLifecycle admission plugin fails it. */
export function requireNamespace(state: ServerState, target: Target) {
  if (!target.resource.namespaced || !target.namespace) return;
  if (!state.store.get(namespaces(state), undefined, target.namespace)) {
    throw notFound(namespaces(state), target.namespace);
  }
}

export const readObject = (state: ServerState, target: Target) =>
  state.store.get(target.resource, target.namespace, target.name);

export function readExisting(state: ServerState, target: Target) {
  const live = readObject(state, target);
  if (!live) throw notFound(target.resource, target.name);
  return live;
}

/** Stores a new object that some manager wrote (an Update) or applied (already merged). */
export function createObject(state: ServerState, target: Target, object: KubeObject, manager?: string) {
  validateName(target.resource, target.name);
  requireNamespace(state, target);
  if (readObject(state, target)) throw alreadyExists(target.resource, target.name);
  const time = formatTime(state.now());
  const prepared = prepareCreate(object, {
    resource: target.resource,
    namespace: target.resource.namespaced ? target.namespace : undefined,
    uid: state.newUid(),
    time,
    deviations: state.deviations,
  });
  const owned = manager
    ? recordUpdate({
        live: undefined,
        next: prepared,
        manager,
        scope: "main",
        statusSubresource: target.resource.statusSubresource,
        time,
      })
    : prepared;
  return state.store.create(target.resource, owned);
}

/**
 * Stores a changed object: nothing is written when nothing changed (same resourceVersion), and
 * an object being deleted goes away once its last finalizer is removed.
 */
export function commitUpdate(state: ServerState, target: Target, live: KubeObject, candidate: KubeObject) {
  const next = prepareUpdate(live, candidate, target.scope, target.resource, state.deviations);
  if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
    return state.store.delete(target.resource, next, live);
  }
  if (unchanged(live, next)) return live;
  return state.store.update(target.resource, next, live);
}

/** A write by a manager that is not an apply: PUT, merge or JSON patch, a test's seed. */
export function updateObject(
  state: ServerState,
  target: Target,
  live: KubeObject,
  next: KubeObject,
  manager: string,
) {
  const owned = recordUpdate({
    live,
    next,
    manager,
    scope: target.scope,
    statusSubresource: target.resource.statusSubresource,
    time: formatTime(state.now()),
  });
  return commitUpdate(state, target, live, owned);
}

export function applyObject(
  state: ServerState,
  target: Target,
  config: KubeObject,
  options: { manager: string; force: boolean },
): WriteResult {
  const live = readObject(state, target);
  if (!live && target.scope === "status") throw notFound(target.resource, target.name);
  // An applied resourceVersion is a precondition, as on every other write.
  const { resourceVersion } = config.metadata;
  if (resourceVersion !== undefined && resourceVersion !== live?.metadata.resourceVersion) {
    throw live ? modifiedConflict(target.resource, target.name) : notFound(target.resource, target.name);
  }
  const merged = serverSideApply({
    live,
    config: { ...config, apiVersion: groupVersionOf(target.resource) },
    manager: options.manager,
    force: options.force,
    scope: target.scope,
    statusSubresource: target.resource.statusSubresource,
    time: formatTime(state.now()),
  });
  if (!live) return { created: true, object: createObject(state, target, merged) };
  return { created: false, object: commitUpdate(state, target, live, merged) };
}

/**
 * DELETE: an object with finalizers only gets its deletionTimestamp; a namespace takes its
 * objects with it at once (no Terminating phase here).
 */
export function deleteObject(state: ServerState, target: Target) {
  const live = readExisting(state, target);
  if (live.metadata.finalizers?.length) {
    if (live.metadata.deletionTimestamp) return { deleted: false, object: live };
    const marked = structuredClone(live);
    marked.metadata.deletionTimestamp = formatTime(state.now());
    marked.metadata.deletionGracePeriodSeconds = 0;
    return { deleted: false, object: state.store.update(target.resource, marked, live) };
  }
  if (target.resource.plural === "namespaces" && !target.resource.group) {
    for (const resource of state.catalog.resources.filter((r) => r.namespaced)) {
      for (const object of state.store.list(resource, target.name)) state.store.delete(resource, object);
    }
  }
  return { deleted: true, object: state.store.delete(target.resource, live) };
}
