import { groupVersionOf, type ResourceType } from "./resources.ts";
import type { KubeObject } from "./types.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

/** One write, as etcd records it: the object after it (for DELETED, as it was removed) and before. */
export interface Change {
  type: EventType;
  resourceVersion: number;
  resource: ResourceType;
  object: KubeObject;
  previous: KubeObject | undefined;
}

const keyOf = (resource: ResourceType, namespace: string | undefined, name: string) =>
  `${groupVersionOf(resource)}/${resource.plural}/${namespace ?? ""}/${name}`;

export type ObjectStore = ReturnType<typeof createObjectStore>;

/**
 * Every object under one global resourceVersion counter (etcd's revision), with the history of
 * changes since the last compaction so watches can resume from an older resourceVersion.
 */
export function createObjectStore(options: { firstResourceVersion: number; historyLimit: number }) {
  const objects = new Map<string, KubeObject>();
  const listeners = new Set<(change: Change) => void>();
  let history: Change[] = [];
  let revision = options.firstResourceVersion;
  let compactedRevision = revision;

  function record(type: EventType, resource: ResourceType, object: KubeObject, previous?: KubeObject) {
    revision += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(revision);
    const key = keyOf(resource, stored.metadata.namespace, stored.metadata.name);
    if (type === "DELETED") objects.delete(key);
    else objects.set(key, stored);
    const change: Change = { type, resourceVersion: revision, resource, object: stored, previous };
    history.push(change);
    if (history.length > options.historyLimit) compact(history[history.length - options.historyLimit - 1]);
    for (const listener of listeners) listener(change);
    return structuredClone(stored);
  }

  function compact(upTo?: Change | number) {
    const target = typeof upTo === "number" ? upTo : (upTo?.resourceVersion ?? revision);
    compactedRevision = Math.max(compactedRevision, Math.min(target, revision));
    history = history.filter((change) => change.resourceVersion > compactedRevision);
  }

  /** In key order, as etcd lists them; all namespaces when namespace is undefined. */
  function list(resource: ResourceType, namespace: string | undefined): KubeObject[] {
    const prefix = `${groupVersionOf(resource)}/${resource.plural}/${namespace === undefined ? "" : `${namespace}/`}`;
    return [...objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, object]) => structuredClone(object));
  }

  return {
    get: (resource: ResourceType, namespace: string | undefined, name: string) => {
      const found = objects.get(keyOf(resource, namespace, name));
      return found && structuredClone(found);
    },
    list,
    /**
     * The list as it was at a past resourceVersion (for Exact lists and continue tokens): today's
     * objects with the later changes undone; undefined when that history was compacted.
     */
    listAt(resource: ResourceType, namespace: string | undefined, resourceVersion: number) {
      if (resourceVersion < compactedRevision) return undefined;
      const state = new Map(
        list(resource, namespace).map((o) => [keyOf(resource, o.metadata.namespace, o.metadata.name), o]),
      );
      for (const change of history.filter((c) => c.resourceVersion > resourceVersion).reverse()) {
        const { object, previous } = change;
        if (change.resource !== resource) continue;
        if (namespace !== undefined && object.metadata.namespace !== namespace) continue;
        const key = keyOf(resource, object.metadata.namespace, object.metadata.name);
        if (change.type === "ADDED") state.delete(key);
        else if (previous) state.set(key, structuredClone(previous));
      }
      return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, object]) => object);
    },
    create: (resource: ResourceType, object: KubeObject) => record("ADDED", resource, object),
    update: (resource: ResourceType, object: KubeObject, previous: KubeObject) =>
      record("MODIFIED", resource, object, previous),
    /** `previous` differs from `object` when a write removed the last finalizer. */
    delete: (resource: ResourceType, object: KubeObject, previous: KubeObject = object) =>
      record("DELETED", resource, object, previous),
    revision: () => revision,
    compactedRevision: () => compactedRevision,
    /** Forgets history up to a resourceVersion (default: now), like etcd compaction. */
    compact: (resourceVersion?: number) => compact(resourceVersion),
    /** Changes after a resourceVersion, or undefined when they were compacted away. */
    changesSince(resourceVersion: number): Change[] | undefined {
      if (resourceVersion < compactedRevision) return undefined;
      return history.filter((change) => change.resourceVersion > resourceVersion);
    },
    subscribe(listener: (change: Change) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
