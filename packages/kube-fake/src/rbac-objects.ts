import type { FakeUser, PolicyRule } from "./rbac.ts";
import type { ServerState } from "./state.ts";
import { isPlainObject, type Json, type KubeObject } from "./types.ts";

const RBAC = "rbac.authorization.k8s.io/v1";

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** Everyone the authenticator lets in is also in system:authenticated. */
const groupsOf = (user: FakeUser) => new Set([...(user.groups ?? []), "system:authenticated"]);

/**
 * Whether a binding's subject is this user, as the RBAC authorizer's appliesToUser decides: a
 * ServiceAccount subject without a namespace means the RoleBinding's own namespace.
 */
function appliesTo(subject: Subject, user: FakeUser, bindingNamespace: string | undefined) {
  switch (subject.kind) {
    case "User":
      return subject.name === user.username;
    case "Group":
      return subject.name !== undefined && groupsOf(user).has(subject.name);
    case "ServiceAccount": {
      const namespace = subject.namespace || bindingNamespace;
      return (
        namespace !== undefined && user.username === `system:serviceaccount:${namespace}:${subject.name}`
      );
    }
    default:
      return false;
  }
}

const strings = (value: unknown) =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

/** A Role's or ClusterRole's resource rules; nonResourceURLs rules grant nothing on resources. */
function resourceRules(role: KubeObject | undefined, namespace: string | undefined): PolicyRule[] {
  const rules = Array.isArray(role?.rules) ? (role.rules as unknown[]) : [];
  return rules.filter(isPlainObject).flatMap((rule: Json) => {
    const resources = strings(rule.resources);
    if (resources.length === 0) return [];
    const resourceNames = strings(rule.resourceNames);
    return [
      {
        verbs: strings(rule.verbs),
        apiGroups: strings(rule.apiGroups),
        resources,
        ...(resourceNames.length > 0 ? { resourceNames } : {}),
        ...(namespace !== undefined ? { namespaces: [namespace] } : {}),
      },
    ];
  });
}

/**
 * The rules the cluster's stored RBAC objects grant a user: a ClusterRoleBinding grants its
 * ClusterRole everywhere, a RoleBinding grants its Role or ClusterRole in its own namespace only.
 * A binding whose role does not exist grants nothing. Aggregated ClusterRoles are not resolved.
 */
export function storedRules(state: ServerState, user: FakeUser): PolicyRule[] {
  const resource = (kind: string) => {
    const found = state.catalog.byKind(RBAC, kind);
    if (!found) throw new Error(`kube-fake: ${kind} is not served`);
    return found;
  };
  const roleOf = (binding: KubeObject) => {
    const ref = isPlainObject(binding.roleRef) ? binding.roleRef : {};
    const name = typeof ref.name === "string" ? ref.name : "";
    if (ref.kind === "ClusterRole") return state.store.get(resource("ClusterRole"), undefined, name);
    // A ClusterRoleBinding can only name a ClusterRole.
    if (ref.kind === "Role" && binding.metadata.namespace)
      return state.store.get(resource("Role"), binding.metadata.namespace, name);
    return undefined;
  };
  const bound = (binding: KubeObject) =>
    Array.isArray(binding.subjects) &&
    (binding.subjects as unknown[])
      .filter(isPlainObject)
      .some((subject) => appliesTo(subject as Subject, user, binding.metadata.namespace));

  const clusterWide = state.store
    .list(resource("ClusterRoleBinding"), undefined)
    .filter(bound)
    .flatMap((binding) => resourceRules(roleOf(binding), undefined));
  const namespaced = state.store
    .list(resource("RoleBinding"), undefined)
    .filter(bound)
    .flatMap((binding) => resourceRules(roleOf(binding), binding.metadata.namespace));
  return [...clusterWide, ...namespaced];
}

/** The user with every rule that applies: its own (a test's shortcut) and the stored RBAC's. */
export const withStoredRules = (state: ServerState, user: FakeUser): FakeUser => ({
  ...user,
  rules: [...user.rules, ...storedRules(state, user)],
});
