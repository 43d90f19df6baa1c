/** A kind push mode reads or writes, with the REST names RBAC and the watches use. */
export interface VworkspaceResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const APPLICATION_INSTANCES: VworkspaceResource = {
  group: "apps.vworkspace.io",
  version: "v1alpha1",
  kind: "ApplicationInstance",
  plural: "applicationinstances",
  namespaced: true,
};

export const OPERATIONS: VworkspaceResource = {
  group: "ops.vworkspace.io",
  version: "v1alpha1",
  kind: "Operation",
  plural: "operations",
  namespaced: true,
};

/** The operator's Cluster CRD is `scope: Cluster`: listed at /apis/ops.vworkspace.io/v1alpha1/clusters. */
export const CLUSTERS: VworkspaceResource = {
  group: "ops.vworkspace.io",
  version: "v1alpha1",
  kind: "Cluster",
  plural: "clusters",
  namespaced: false,
};

export const apiVersionOf = (resource: VworkspaceResource) => `${resource.group}/${resource.version}`;

/** `applicationinstances.apps.vworkspace.io`, as the API server names a resource in messages. */
export const qualifiedName = (resource: VworkspaceResource) => `${resource.plural}.${resource.group}`;

/** The collection path: all of a cluster-scoped kind, or one namespace's objects. */
export const collectionPath = (resource: VworkspaceResource, namespace?: string) =>
  `/apis/${resource.group}/${resource.version}/${namespace ? `namespaces/${encodeURIComponent(namespace)}/` : ""}${resource.plural}`;

/**
 * Exactly what the executor and the watches do, per allowed namespace and cluster-wide. The RBAC
 * rendering grants this and nothing else; the validation probe checks this, verb by verb.
 */
export const NAMESPACED_ACCESS: { resource: VworkspaceResource; verbs: string[] }[] = [
  {
    resource: APPLICATION_INSTANCES,
    // get: delete-application-instance reads before it deletes (the operator's order); list and
    // watch: the watches; create and patch: server-side apply (create when it does not exist yet);
    // delete: delete-application-instance and raw delete.
    verbs: ["get", "list", "watch", "create", "patch", "delete"],
  },
  {
    resource: OPERATIONS,
    // create: request-operation; get: comparing with one that already exists; patch and delete:
    // raw apply and delete of an Operation; list and watch: the watches.
    verbs: ["get", "list", "watch", "create", "patch", "delete"],
  },
];

/** The Cluster CR(s) are read through a list and a watch only. */
export const CLUSTER_ACCESS: { resource: VworkspaceResource; verbs: string[] }[] = [
  { resource: CLUSTERS, verbs: ["list", "watch"] },
];
