import { GitOpsError } from "../errors.ts";
import { isApplicationFile, isNamespaceFile, withNamespaceFiles } from "./namespaces.ts";
import { type ClusterDesiredState, renderClusterResource } from "./resources.ts";
import { toStableYaml } from "./stable-yaml.ts";

export const CLUSTER_FILE = "cluster.yaml";
export const KUSTOMIZATION_FILE = "kustomization.yaml";

/** A cluster directory's files: path relative to `<path>/<slug>/` → content, sorted by path. */
export type DirectoryFiles = ReadonlyMap<string, string>;

export const applicationFilePath = (namespace: string, name: string) => `apps/${namespace}/${name}.yaml`;

/** The cluster's directory inside the repository: `<path>/<slug>` (or `<slug>` at the root). */
export const clusterDirectoryPath = (repoPath: string, slug: string) =>
  repoPath ? `${repoPath}/${slug}` : slug;

/**
 * The kustomization listing the given files. It sets no `namespace:` — kustomize does not know the
 * Cluster CRD is cluster-scoped and would stamp the namespace on it; ApplicationInstances carry
 * their own.
 */
export function renderKustomization(files: Iterable<string>): string {
  const resources = [...files]
    .filter((file) => file === CLUSTER_FILE || isApplicationFile(file) || isNamespaceFile(file))
    .sort();
  return toStableYaml({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources });
}

/** Namespace files and the kustomization brought in line with the application files; sorted by path. */
function completed(files: ReadonlyMap<string, string>): DirectoryFiles {
  const result = withNamespaceFiles(files);
  result.set(KUSTOMIZATION_FILE, renderKustomization(result.keys()));
  return new Map([...result].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Pure: the whole directory for a desired state — the Cluster CR, one file per
 * ApplicationInstance (`apps/<namespace>/<name>.yaml`), one per namespace holding applications
 * (`namespaces/<namespace>.yaml`) and the kustomization listing them.
 * The order of `applications` does not matter; a name twice in one namespace is refused.
 */
export function renderClusterDirectory(state: ClusterDesiredState): DirectoryFiles {
  const files = new Map<string, string>([[CLUSTER_FILE, toStableYaml(renderClusterResource(state))]]);
  for (const application of state.applications) {
    const path = applicationFilePath(application.metadata.namespace, application.metadata.name);
    if (files.has(path)) {
      throw new GitOpsError("InvalidRequest", `desired state of ${state.slug} names ${path} twice`);
    }
    files.set(path, toStableYaml(application));
  }
  return completed(files);
}

/** The directory after one file was written (content) or removed (undefined), namespaces and kustomization renewed. */
export function withApplicationFile(current: DirectoryFiles, path: string, content: string | undefined) {
  const files = new Map(current);
  if (content === undefined) files.delete(path);
  else files.set(path, content);
  return completed(files);
}
