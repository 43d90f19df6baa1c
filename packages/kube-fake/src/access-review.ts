import { authorize, type FakeUser } from "./rbac.ts";
import { badRequest } from "./status.ts";
import { isPlainObject, type Json } from "./types.ts";

/**
 * POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: the request echoed back with
 * status.allowed decided by the caller's own rules (every user may ask, as system:basic-user).
 */
export function selfSubjectAccessReview(user: FakeUser, body: unknown) {
  const spec = isPlainObject(body) && isPlainObject(body.spec) ? body.spec : undefined;
  const attributes = spec && isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource =
    spec && isPlainObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if (!attributes && !nonResource) {
    throw badRequest(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  }
  const text = (record: Json | undefined, key: string) =>
    typeof record?.[key] === "string" ? (record[key] as string) : undefined;
  // Discovery, /version and /healthz are open to every authenticated user (system:discovery).
  const allowed = attributes
    ? authorize(user, {
        verb: text(attributes, "verb") ?? "",
        group: text(attributes, "group") ?? "",
        resource: text(attributes, "resource") ?? "",
        subresource: text(attributes, "subresource") || undefined,
        namespace: text(attributes, "namespace") || undefined,
        name: text(attributes, "name") || undefined,
      })
    : text(nonResource, "verb") === "get";
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: allowed
      ? { allowed: true, reason: `RBAC: allowed for User "${user.username}"` }
      : { allowed: false },
  };
}
