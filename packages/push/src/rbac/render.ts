import { stringify } from "yaml";
import { CLUSTER_ACCESS, NAMESPACED_ACCESS, type VworkspaceResource } from "../resources.ts";

/** A Kubernetes object to apply, as plain data. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface PushRbacOptions {
  /** The cluster's allowed namespaces (concrete names: a RoleBinding cannot match a glob). */
  namespaces: readonly string[];
  /** Where the ServiceAccount and its token live; the operator's namespace by default. */
  serviceAccountNamespace?: string;
  /** The ServiceAccount's name, and the prefix of every other object's. */
  name?: string;
}

export const DEFAULT_SERVICE_ACCOUNT = "vworkspace-control-plane";
export const DEFAULT_SERVICE_ACCOUNT_NAMESPACE = "vworkspace-system";
const RBAC = "rbac.authorization.k8s.io";
const LABELS = {
  "app.kubernetes.io/part-of": "vworkspace",
  "app.kubernetes.io/component": "push-credential",
};

/** One rule per API group and verb set, resources sorted: the least a reader has to check. */
function rulesFor(access: { resource: VworkspaceResource; verbs: string[] }[]) {
  return access.map(({ resource, verbs }) => ({
    apiGroups: [resource.group],
    resources: [resource.plural],
    verbs: [...verbs].sort(),
  }));
}

/**
 * The ServiceAccount push mode acts as, a token Secret for it (the token controller fills it),
 * and exactly the permissions the executor and the watches use: the namespaced ones through a
 * ClusterRole bound by a RoleBinding in each allowed namespace (so they hold there only), the
 * Cluster CR's list and watch through a ClusterRoleBinding. No namespace is created, nothing
 * else is readable: Secrets, the Flux and Velero objects, other namespaces' applications.
 */
export function renderPushRbac(options: PushRbacOptions): Manifest[] {
  const name = options.name ?? DEFAULT_SERVICE_ACCOUNT;
  const home = options.serviceAccountNamespace ?? DEFAULT_SERVICE_ACCOUNT_NAMESPACE;
  const subject = { kind: "ServiceAccount", name, namespace: home };
  const applications = `${name}-applications`;
  const clusters = `${name}-clusters`;
  const metadata = (objectName: string, namespace?: string) => ({
    name: objectName,
    ...(namespace ? { namespace } : {}),
    labels: { ...LABELS },
  });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(name, home) },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        ...metadata(`${name}-token`, home),
        annotations: { "kubernetes.io/service-account.name": name },
      },
      type: "kubernetes.io/service-account-token",
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: metadata(applications),
      rules: rulesFor(NAMESPACED_ACCESS),
    },
    ...[...new Set(options.namespaces)].sort().map((namespace) => ({
      apiVersion: `${RBAC}/v1`,
      kind: "RoleBinding",
      metadata: metadata(name, namespace),
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: applications },
      subjects: [subject],
    })),
    {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRole",
      metadata: metadata(clusters),
      rules: rulesFor(CLUSTER_ACCESS),
    },
    {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: metadata(clusters),
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: clusters },
      subjects: [subject],
    },
  ];
}

/** The manifests as one multi-document YAML stream, for `kubectl apply -f -`. */
export const manifestsYaml = (manifests: Manifest[]) =>
  manifests.map((manifest) => stringify(manifest)).join("---\n");
