import { readExisting } from "./objects.ts";
import type { Answer, ResourceRequest } from "./resource-request.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import type { ServerState } from "./state.ts";
import { badRequest } from "./status.ts";
import type { KubeObject } from "./types.ts";

export function selectorOf(query: URLSearchParams) {
  const labels = parseLabelSelector(query.get("labelSelector"));
  const fields = parseFieldSelector(query.get("fieldSelector"));
  return (object: KubeObject) => labels(object) && fields(object);
}

/** resourceVersion as a number; "" and "0" mean "any" (undefined). */
export function requestedVersion(query: URLSearchParams): number | undefined {
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
