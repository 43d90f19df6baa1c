import { readExisting } from "./objects.ts";
import type { Answer, ResourceRequest } from "./resource-request.ts";
import { groupVersionOf } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import type { ServerState } from "./state.ts";
import { badRequest, expired, tooLargeResourceVersion } from "./status.ts";
import type { KubeObject } from "./types.ts";

function selectorOf(query: URLSearchParams) {
  const labels = parseLabelSelector(query.get("labelSelector"));
  const fields = parseFieldSelector(query.get("fieldSelector"));
  return (object: KubeObject) => labels(object) && fields(object);
}

/** resourceVersion as a number; "" and "0" mean "any" (undefined). */
function requestedVersion(query: URLSearchParams): number | undefined {
  const text = query.get("resourceVersion");
  if (!text || text === "0") return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw badRequest(`Invalid value: "${text}": resourceVersion must be a non-negative integer`);
  }
  return value;
}

export const getObject = (state: ServerState, request: ResourceRequest): Answer => ({
  code: 200,
  body: readExisting(state, request.target),
});

/**
 * A list at the store's current resourceVersion. `resourceVersionMatch=Exact` below the compacted
 * revision is 410 Expired; a resourceVersion the store has not reached is 504 (the real server
 * first waits up to 3 s for it).
 */
export function listObjects(state: ServerState, request: ResourceRequest): Answer {
  const { resource, namespace } = request.target;
  const requested = requestedVersion(request.query);
  const current = state.store.revision();
  if (requested !== undefined && requested > current) throw tooLargeResourceVersion(requested, current);
  if (
    requested !== undefined &&
    request.query.get("resourceVersionMatch") === "Exact" &&
    requested < state.store.compactedRevision()
  ) {
    throw expired("The resourceVersion for the provided list is too old.");
  }
  const matches = selectorOf(request.query);
  // Typed lists drop the items' apiVersion/kind; unstructured (CRD) lists keep them.
  const items = state.store
    .list(resource, namespace)
    .filter(matches)
    .map((object) => {
      if (resource.custom) return object;
      const { apiVersion: _a, kind: _k, ...rest } = object;
      return rest;
    });
  return {
    code: 200,
    body: {
      kind: `${resource.kind}List`,
      apiVersion: groupVersionOf(resource),
      metadata: { resourceVersion: String(current) },
      items,
    },
  };
}

export function watchObjects(state: ServerState, request: ResourceRequest): Answer {
  const timeout = Number(request.query.get("timeoutSeconds"));
  state.watches.start({
    resource: request.target.resource,
    namespace: request.target.namespace,
    matches: selectorOf(request.query),
    since: requestedVersion(request.query),
    bookmarks: request.query.get("allowWatchBookmarks") === "true",
    initialEventsEnd: request.query.get("sendInitialEvents") === "true",
    timeoutMs: timeout > 0 ? timeout * 1000 : state.watchTimeoutMs,
    response: request.response,
  });
  return undefined;
}
