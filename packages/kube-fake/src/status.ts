import { qualifiedResource, type ResourceType } from "./resources.ts";

/** metav1.StatusCause as serialized (the Go field `Type` is `reason` on the wire). */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** A metav1.Status, with its keys in the order the API server writes them. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: { continue?: string };
  status: "Success" | "Failure";
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An answer that is not a success; handlers throw it, the server writes it. */
export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
  }
}

export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): Status {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: code < 400 ? "Success" : "Failure",
    ...(message ? { message } : {}),
    ...(reason ? { reason } : {}),
    ...(details ? { details } : {}),
    code,
  };
}

const fail = (code: number, reason: string, message: string, details?: StatusDetails) =>
  new StatusError(statusBody(code, reason, message, details));

/** Details naming a resource the way apierrors does: kind is the plural resource. */
const resourceDetails = (resource: ResourceType, name?: string): StatusDetails => ({
  ...(name ? { name } : {}),
  ...(resource.group ? { group: resource.group } : {}),
  kind: resource.plural,
});

export const notFound = (resource: ResourceType, name: string) =>
  fail(
    404,
    "NotFound",
    `${qualifiedResource(resource)} "${name}" not found`,
    resourceDetails(resource, name),
  );

/** An unknown path or a kind the server does not serve. */
export const pathNotFound = () =>
  fail(404, "NotFound", "the server could not find the requested resource", {});

export const alreadyExists = (resource: ResourceType, name: string) =>
  fail(
    409,
    "AlreadyExists",
    `${qualifiedResource(resource)} "${name}" already exists`,
    resourceDetails(resource, name),
  );

/** An update whose resourceVersion precondition no longer holds. */
export const modifiedConflict = (resource: ResourceType, name: string) =>
  fail(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    resourceDetails(resource, name),
  );

export interface FieldConflict {
  /** As printed by the API server: `"manager"`, or `"manager" using v1` for an Update owner. */
  manager: string;
  path: string;
}

/** Server-side apply's conflict, worded like structured-merge-diff's message. */
export function applyConflict(conflicts: FieldConflict[]) {
  const causes = conflicts.map((c) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${c.manager}`,
    field: c.path,
  }));
  const [only] = conflicts;
  if (conflicts.length === 1 && only) {
    return fail(
      409,
      "Conflict",
      `Apply failed with 1 conflict: conflict with ${only.manager}: ${only.path}`,
      {
        causes,
      },
    );
  }
  const managers = [...new Set(conflicts.map((c) => c.manager))].sort();
  const lines = managers.flatMap((manager) => [
    `conflicts with ${manager}:`,
    ...conflicts.filter((c) => c.manager === manager).map((c) => `- ${c.path}`),
  ]);
  return fail(409, "Conflict", `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`, {
    causes,
  });
}

export const forbidden = (
  resource: { group: string; plural: string } | undefined,
  name: string,
  why: string,
) => {
  if (!resource) return fail(403, "Forbidden", `forbidden: ${why}`, {});
  const qualified = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  const subject = name ? `${qualified} "${name}"` : qualified;
  return fail(403, "Forbidden", `${subject} is forbidden: ${why}`, {
    ...(name ? { name } : {}),
    ...(resource.group ? { group: resource.group } : {}),
    kind: resource.plural,
  });
};

export interface FieldError {
  reason: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden";
  field: string;
  /** The error body, e.g. `Invalid value: "x": must be …` or `Required value`. */
  detail: string;
}

/** 422 Invalid, naming the kind (not the resource) as apierrors.NewInvalid does. */
export function invalid(target: { group: string; kind: string }, name: string, errors: FieldError[]) {
  const qualifiedKind = target.group ? `${target.kind}.${target.group}` : target.kind;
  const texts = errors.map((e) => `${e.field}: ${e.detail}`);
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`;
  return fail(422, "Invalid", `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    ...(name ? { name } : {}),
    ...(target.group ? { group: target.group } : {}),
    kind: target.kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.detail, field: e.field })),
  });
}

/** PatchOptions that the API server refuses before it looks at the object. */
export const invalidPatchOptions = (error: FieldError) =>
  invalid({ group: "meta.k8s.io", kind: "PatchOptions" }, "", [error]);

export const badRequest = (message: string) => fail(400, "BadRequest", message);
export const unauthorized = () => fail(401, "Unauthorized", "Unauthorized");
export const methodNotAllowed = () =>
  fail(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
export const unsupportedMediaType = (message: string) => fail(415, "UnsupportedMediaType", message);
export const unprocessable = (message: string) => fail(422, "Invalid", message);

/** 410 with reason Expired: a resourceVersion older than the compacted history. */
export const expired = (message: string) => fail(410, "Expired", message);

/** A list at a resourceVersion the store has not reached (the real server waits 3 s first). */
export const tooLargeResourceVersion = (requested: number, current: number) =>
  fail(504, "Timeout", `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
