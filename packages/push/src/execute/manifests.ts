import {
  CLUSTER_ID_LABEL,
  type JobManifest,
  MANAGED_BY_CONTROL_PLANE,
  MANAGED_BY_LABEL,
  type ObjectRef,
} from "@vwksp/protocol";

/**
 * What the control plane sends, ready to write: the operator's two labels set (as its applier's
 * ensureManagedLabels does, over whatever the payload had), and the fields the server owns
 * dropped: an applied resourceVersion would be a precondition, applied managedFields are refused,
 * and status belongs to the operator through the status subresource.
 */
export function writableObject(manifest: JobManifest, clusterId: string, namespaced: boolean): JobManifest {
  const {
    resourceVersion: _resourceVersion,
    uid: _uid,
    generation: _generation,
    creationTimestamp: _creationTimestamp,
    managedFields: _managedFields,
    namespace,
    ...metadata
  } = manifest.metadata;
  const { status: _status, ...object } = manifest;
  return {
    ...object,
    metadata: {
      ...metadata,
      // A namespace on a cluster-scoped kind means nothing to the API server; it is left out.
      ...(namespaced && namespace ? { namespace } : {}),
      name: manifest.metadata.name,
      labels: {
        ...manifest.metadata.labels,
        [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE,
        [CLUSTER_ID_LABEL]: clusterId,
      },
    },
  };
}

interface StoredMeta {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number };
}

/**
 * The protocol's appliedRef: what was asked for, with the uid and generation the API server
 * answered (typed answers may drop apiVersion and kind, so they come from the request).
 */
export function appliedRef(
  requested: { apiVersion: string; kind: string; namespace?: string; name: string },
  stored?: StoredMeta,
): ObjectRef {
  const uid = stored?.metadata?.uid;
  const generation = stored?.metadata?.generation;
  return {
    apiVersion: requested.apiVersion,
    kind: requested.kind,
    namespace: stored?.metadata?.namespace ?? requested.namespace ?? "",
    name: requested.name,
    ...(uid ? { uid } : {}),
    ...(typeof generation === "number" ? { generation } : {}),
  };
}

/**
 * Whether every field the request sets has that value in the stored object: the stored spec may
 * hold more (defaults the API server filled in), never something else.
 */
export function covers(requested: unknown, stored: unknown): boolean {
  if (Array.isArray(requested)) {
    return (
      Array.isArray(stored) &&
      requested.length === stored.length &&
      requested.every((item, index) => covers(item, stored[index]))
    );
  }
  if (typeof requested === "object" && requested !== null) {
    if (typeof stored !== "object" || stored === null || Array.isArray(stored)) return false;
    const record = stored as Record<string, unknown>;
    return Object.entries(requested).every(([key, value]) => covers(value, record[key]));
  }
  return requested === stored;
}

/** The managers of a stored object, for a message naming who wrote it. */
export function managersOf(stored: { metadata?: { managedFields?: { manager?: string }[] } }): string[] {
  const names = (stored.metadata?.managedFields ?? []).map((entry) => entry.manager ?? "").filter(Boolean);
  return [...new Set(names)];
}
