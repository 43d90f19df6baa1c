import type { ResourceCatalog, ResourceType } from "./resources.ts";

/** The legacy discovery documents client-node reads (it never asks for aggregated discovery). */
export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function apiGroup(catalog: ResourceCatalog, group: string) {
  const versions = [...new Set(catalog.resources.filter((r) => r.group === group).map((r) => r.version))].map(
    (version) => ({ groupVersion: `${group}/${version}`, version }),
  );
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(catalog: ResourceCatalog) {
  const groups = [...new Set(catalog.resources.map((r) => r.group).filter(Boolean))];
  return { kind: "APIGroupList", apiVersion: "v1", groups: groups.map((group) => apiGroup(catalog, group)) };
}

export function apiGroupDocument(catalog: ResourceCatalog, group: string) {
  if (!catalog.resources.some((r) => r.group === group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...apiGroup(catalog, group) };
}

const entry = (resource: ResourceType) => ({
  name: resource.plural,
  singularName: resource.singular,
  namespaced: resource.namespaced,
  kind: resource.kind,
  verbs: resource.verbs,
  ...(resource.shortNames.length > 0 ? { shortNames: resource.shortNames } : {}),
});

const statusEntry = (resource: ResourceType) => ({
  name: `${resource.plural}/status`,
  singularName: "",
  namespaced: resource.namespaced,
  kind: resource.kind,
  verbs: ["get", "patch", "update"],
});

export function apiResourceList(catalog: ResourceCatalog, groupVersion: string) {
  const resources = catalog.inGroupVersion(groupVersion);
  if (resources.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion,
    resources: resources.flatMap((r) => (r.statusSubresource ? [entry(r), statusEntry(r)] : [entry(r)])),
  };
}

/** /version, from a gitVersion such as `v1.31.2`. */
export function versionInfo(gitVersion: string) {
  const [, major = "1", minor = "0"] = gitVersion.match(/^v?(\d+)\.(\d+)/) ?? [];
  return {
    major,
    minor,
    gitVersion,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2025-01-01T00:00:00Z",
    goVersion: "go1.22.8",
    compiler: "gc",
    platform: "linux/amd64",
  };
}
