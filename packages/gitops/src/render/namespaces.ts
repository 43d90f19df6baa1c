import { MANAGED_BY_CONTROL_PLANE, MANAGED_BY_LABEL } from "@vwksp/protocol";
import { toStableYaml } from "./stable-yaml.ts";

const APPLICATION_FILE = /^apps\/([^/]+)\/[^/]+\.yaml$/;
const NAMESPACE_FILE = /^namespaces\/[^/]+\.yaml$/;

export const namespaceFilePath = (namespace: string) => `namespaces/${namespace}.yaml`;
export const isApplicationFile = (path: string) => APPLICATION_FILE.test(path);
export const isNamespaceFile = (path: string) => NAMESPACE_FILE.test(path);

/**
 * A Namespace for the applications in it: Flux does not create namespaces (pull mode's agent
 * does), and one missing namespace fails the whole Kustomization. Flux never prunes it: removed
 * from Git when its last application goes, the namespace and whatever data it holds stay, as in
 * pull mode, which never deletes namespaces either.
 */
export function renderNamespace(namespace: string): string {
  return toStableYaml({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE },
      annotations: { "kustomize.toolkit.fluxcd.io/prune": "disabled" },
    },
  });
}

/** The files with exactly one namespace file per namespace that holds an application file. */
export function withNamespaceFiles(files: ReadonlyMap<string, string>): Map<string, string> {
  const namespaces = new Set<string>();
  for (const path of files.keys()) {
    const namespace = APPLICATION_FILE.exec(path)?.[1];
    if (namespace) namespaces.add(namespace);
  }
  const result = new Map([...files].filter(([path]) => !isNamespaceFile(path)));
  for (const namespace of namespaces) result.set(namespaceFilePath(namespace), renderNamespace(namespace));
  return result;
}
