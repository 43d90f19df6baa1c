import { applyObject, createObject, deleteObject, readExisting, updateObject } from "./objects.ts";
import { jsonPatch, mergePatch } from "./patch.ts";
import type { Answer, ResourceRequest } from "./resource-request.ts";
import { groupVersionOf } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import type { ServerState } from "./state.ts";
import {
  badRequest,
  invalid,
  invalidPatchOptions,
  modifiedConflict,
  unsupportedMediaType,
} from "./status.ts";
import { checkKind } from "./strategy.ts";
import { isPlainObject, type KubeObject } from "./types.ts";

/** The manager of a non-apply write: ?fieldManager, else the user agent up to its first "/". */
const managerOf = (request: ResourceRequest) =>
  request.query.get("fieldManager") || (request.userAgent ?? "unknown").split("/")[0] || "unknown";

function bodyObject(request: ResourceRequest): KubeObject {
  const body = request.body;
  if (!isPlainObject(body)) throw badRequest("Object 'Kind' is missing in the request body");
  const object = structuredClone(body) as KubeObject;
  object.metadata = isPlainObject(object.metadata) ? object.metadata : ({} as KubeObject["metadata"]);
  checkKind(request.target.resource, object, groupVersionOf(request.target.resource));
  const namespace = object.metadata.namespace;
  if (request.target.resource.namespaced && namespace && namespace !== request.target.namespace) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  return object;
}

function checkName(request: ResourceRequest, object: KubeObject) {
  if (object.metadata.name && object.metadata.name !== request.name) {
    throw badRequest(
      `the name of the object (${object.metadata.name}) does not match the name on the URL (${request.name})`,
    );
  }
  object.metadata.name = request.name ?? "";
}

/** The random suffix generateName gets: five characters, no vowels (names.SimpleNameGenerator). */
const suffix = () =>
  Array.from({ length: 5 }, () => "bcdfghjklmnpqrstvwxz2456789"[Math.floor(Math.random() * 27)]).join("");

export function createFromRequest(state: ServerState, request: ResourceRequest): Answer {
  const object = bodyObject(request);
  const { resource } = request.target;
  if (!object.metadata.name && typeof object.metadata.generateName === "string") {
    object.metadata.name = `${object.metadata.generateName}${suffix()}`;
  }
  if (!object.metadata.name) {
    throw invalid(resource, "", [
      {
        reason: "FieldValueRequired",
        field: "metadata.name",
        detail: "Required value: name or generateName is required",
      },
    ]);
  }
  const target = { ...request.target, name: object.metadata.name };
  return { code: 201, body: createObject(state, target, object, managerOf(request)) };
}

/** A resourceVersion in the body is a precondition on the stored one. */
function checkPrecondition(request: ResourceRequest, live: KubeObject, resourceVersion: unknown) {
  if (resourceVersion !== undefined && resourceVersion !== live.metadata.resourceVersion) {
    throw modifiedConflict(request.target.resource, live.metadata.name);
  }
}

export function replaceFromRequest(state: ServerState, request: ResourceRequest): Answer {
  const object = bodyObject(request);
  checkName(request, object);
  const live = readExisting(state, request.target);
  const { resourceVersion } = object.metadata;
  if (request.target.resource.custom && !resourceVersion) {
    throw invalid(request.target.resource, live.metadata.name, [
      {
        reason: "FieldValueInvalid",
        field: "metadata.resourceVersion",
        detail: "Invalid value: 0x0: must be specified for an update",
      },
    ]);
  }
  checkPrecondition(request, live, resourceVersion);
  return { code: 200, body: updateObject(state, request.target, live, object, managerOf(request)) };
}

const APPLY = "application/apply-patch+yaml";
const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";

export function patchFromRequest(state: ServerState, request: ResourceRequest): Answer {
  const { resource } = request.target;
  const force = request.query.get("force");
  if (request.contentType === APPLY) {
    const manager = request.query.get("fieldManager");
    if (!manager) {
      throw invalidPatchOptions({
        reason: "FieldValueRequired",
        field: "fieldManager",
        detail: "Required value: is required for apply patch",
      });
    }
    const config = bodyObject(request);
    checkName(request, config);
    const result = applyObject(state, request.target, config, { manager, force: force === "true" });
    return { code: result.created ? 201 : 200, body: result.object };
  }
  if (force !== null) {
    throw invalidPatchOptions({
      reason: "FieldValueForbidden",
      field: "force",
      detail: "Forbidden: may not be specified for non-apply patch",
    });
  }
  // Strategic merge needs Go struct tags, which custom resources do not have; for the built-in
  // kinds here it is served as a JSON merge patch (lists are replaced, not merged by key).
  const accepted = resource.custom ? [JSON_PATCH, MERGE, APPLY] : [JSON_PATCH, MERGE, APPLY, STRATEGIC];
  if (!accepted.includes(request.contentType)) {
    throw unsupportedMediaType(
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
    );
  }
  const live = readExisting(state, request.target);
  const patched =
    request.contentType === JSON_PATCH ? jsonPatch(live, request.body) : mergePatch(live, request.body);
  if (!isPlainObject(patched)) throw badRequest("the patch did not produce an object");
  const next = patched as KubeObject;
  if (
    request.contentType !== JSON_PATCH &&
    isPlainObject(request.body) &&
    isPlainObject(request.body.metadata)
  ) {
    checkPrecondition(request, live, request.body.metadata.resourceVersion);
  }
  return { code: 200, body: updateObject(state, request.target, live, next, managerOf(request)) };
}

/** Built-in kinds answer a Status naming what was deleted; custom resources answer the object. */
export function deleteFromRequest(state: ServerState, request: ResourceRequest): Answer {
  const { resource } = request.target;
  const { deleted, object } = deleteObject(state, request.target);
  if (!deleted || resource.custom) return { code: 200, body: object };
  return {
    code: 200,
    // A success Status carries no code.
    body: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: object.metadata.name,
        ...(resource.group ? { group: resource.group } : {}),
        kind: resource.plural,
        uid: object.metadata.uid,
      },
    },
  };
}

export function deleteCollectionFromRequest(state: ServerState, request: ResourceRequest): Answer {
  const { resource, namespace } = request.target;
  const labels = parseLabelSelector(request.query.get("labelSelector"));
  const fields = parseFieldSelector(request.query.get("fieldSelector"));
  const items = state.store
    .list(resource, namespace)
    .filter((object) => labels(object) && fields(object))
    .map((object) => deleteObject(state, { ...request.target, name: object.metadata.name }).object);
  return {
    code: 200,
    body: {
      kind: `${resource.kind}List`,
      apiVersion: groupVersionOf(resource),
      metadata: { resourceVersion: String(state.store.revision()) },
      items,
    },
  };
}
