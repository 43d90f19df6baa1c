/**
 * Authorization as RBAC decides it: a request is allowed when one rule of its user matches the
 * verb, API group, resource (with subresource) and, for namespaced rules, the namespace.
 */
export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  /** `applicationinstances`, `applicationinstances/status`, `*` (all, subresources included). */
  resources: string[];
  resourceNames?: string[];
  /** Granted through RoleBindings in these namespaces; absent means a ClusterRoleBinding. */
  namespaces?: string[];
}

export interface FakeUser {
  token: string;
  /** As the authenticator names it, e.g. `system:serviceaccount:vworkspace-system:control-plane`. */
  username: string;
  groups?: string[];
  /**
   * Rules granted outright, a test's shortcut for bindings (may be empty); besides them the user
   * gets what the stored ClusterRoleBindings and RoleBindings grant it, as on a real cluster.
   */
  rules: PolicyRule[];
}

export const CLUSTER_ADMIN: PolicyRule[] = [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }];

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

const matches = (allowed: string[], value: string) => allowed.includes("*") || allowed.includes(value);

function ruleAllows(rule: PolicyRule, request: RequestAttributes) {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const resourceMatches =
    matches(rule.resources, resource) ||
    (request.subresource !== undefined && rule.resources.includes(`*/${request.subresource}`));
  const nameMatches =
    !rule.resourceNames?.length || (request.name !== undefined && rule.resourceNames.includes(request.name));
  const scopeMatches =
    rule.namespaces === undefined ||
    (request.namespace !== undefined && rule.namespaces.includes(request.namespace));
  return (
    matches(rule.verbs, request.verb) &&
    matches(rule.apiGroups, request.group) &&
    resourceMatches &&
    nameMatches &&
    scopeMatches
  );
}

export const authorize = (user: FakeUser, request: RequestAttributes) =>
  user.rules.some((rule) => ruleAllows(rule, request));

/** The reason text of a 403, worded as the API server's forbiddenMessage. */
export function forbiddenReason(user: FakeUser, request: RequestAttributes) {
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const where = request.namespace ? `in the namespace "${request.namespace}"` : "at the cluster scope";
  return `User "${user.username}" cannot ${request.verb} resource "${resource}" in API group "${request.group}" ${where}`;
}

/** The verb RBAC sees for an HTTP request on a resource path. */
export function verbOf(method: string, named: boolean, watch: boolean) {
  switch (method) {
    case "GET":
      return named ? "get" : watch ? "watch" : "list";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}
