/**
 * The kinds the stand-in serves and how the real API server treats each: scope, subresources,
 * whether metadata.generation is tracked, and whether a CustomResourceDefinition serves it.
 */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** A /status subresource: main-resource writes keep status, status writes keep everything else. */
  statusSubresource: boolean;
  /** metadata.generation is set to 1 on create and bumped on changes outside metadata and status. */
  generation: boolean;
  /** Served by a CRD: list items carry apiVersion/kind, DELETE answers the object, no strategic merge. */
  custom: boolean;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

type Definition = Pick<ResourceType, "plural" | "kind"> & Partial<ResourceType>;

function define(group: string, version: string, definitions: Definition[]): ResourceType[] {
  return definitions.map((definition) => ({
    group,
    version,
    singular: definition.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    statusSubresource: false,
    generation: false,
    custom: false,
    ...definition,
  }));
}

const crd = { custom: true, statusSubresource: true, generation: true };

export const RESOURCE_TYPES: ResourceType[] = [
  ...define("", "v1", [
    {
      plural: "namespaces",
      kind: "Namespace",
      namespaced: false,
      shortNames: ["ns"],
      statusSubresource: true,
      verbs: ALL_VERBS.filter((verb) => verb !== "deletecollection"),
    },
    { plural: "configmaps", kind: "ConfigMap", shortNames: ["cm"] },
    { plural: "secrets", kind: "Secret" },
    { plural: "serviceaccounts", kind: "ServiceAccount", shortNames: ["sa"] },
  ]),
  ...define("apps", "v1", [
    {
      plural: "deployments",
      kind: "Deployment",
      shortNames: ["deploy"],
      statusSubresource: true,
      generation: true,
    },
  ]),
  ...define("rbac.authorization.k8s.io", "v1", [
    { plural: "roles", kind: "Role" },
    { plural: "rolebindings", kind: "RoleBinding" },
    { plural: "clusterroles", kind: "ClusterRole", namespaced: false },
    { plural: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false },
  ]),
  ...define("authorization.k8s.io", "v1", [
    {
      plural: "selfsubjectaccessreviews",
      kind: "SelfSubjectAccessReview",
      namespaced: false,
      verbs: ["create"],
    },
  ]),
  ...define("apps.vworkspace.io", "v1alpha1", [
    { plural: "applicationinstances", kind: "ApplicationInstance", shortNames: ["appinst"], ...crd },
  ]),
  // The operator's Cluster CRD is cluster-scoped (scope: Cluster), not namespaced.
  ...define("ops.vworkspace.io", "v1alpha1", [
    { plural: "operations", kind: "Operation", shortNames: ["op"], ...crd },
    { plural: "clusters", kind: "Cluster", shortNames: ["cluster"], namespaced: false, ...crd },
  ]),
  ...define("helm.toolkit.fluxcd.io", "v2", [
    { plural: "helmreleases", kind: "HelmRelease", shortNames: ["hr"], ...crd },
  ]),
];

export const groupVersionOf = (resource: ResourceType) =>
  resource.group ? `${resource.group}/${resource.version}` : resource.version;

/** `applicationinstances.apps.vworkspace.io`, or `configmaps` for the core group (GroupResource). */
export const qualifiedResource = (resource: ResourceType) =>
  resource.group ? `${resource.plural}.${resource.group}` : resource.plural;

export type ResourceCatalog = ReturnType<typeof createResourceCatalog>;

/** The served kinds, less the groups a test leaves out (a cluster without our CRDs installed). */
export function createResourceCatalog(omitGroups: readonly string[] = []) {
  const resources = RESOURCE_TYPES.filter((resource) => !omitGroups.includes(resource.group));
  return {
    resources,
    groupVersions: () => [...new Set(resources.map(groupVersionOf))],
    inGroupVersion: (groupVersion: string) => resources.filter((r) => groupVersionOf(r) === groupVersion),
    byPlural: (groupVersion: string, plural: string) =>
      resources.find((r) => groupVersionOf(r) === groupVersion && r.plural === plural),
    byKind: (apiVersion: string, kind: string) =>
      resources.find((r) => groupVersionOf(r) === apiVersion && r.kind === kind),
  };
}
