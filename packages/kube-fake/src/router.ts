import type { IncomingMessage, ServerResponse } from "node:http";
import { selfSubjectAccessReview } from "./access-review.ts";
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, versionInfo } from "./discovery.ts";
import { listObjects } from "./list.ts";
import { readObject } from "./objects.ts";
import { authorize, type FakeUser, forbiddenReason, type RequestAttributes, verbOf } from "./rbac.ts";
import { withStoredRules } from "./rbac-objects.ts";
import { getObject, watchObjects } from "./reads.ts";
import type { Answer, ResourceRequest } from "./resource-request.ts";
import { parseRoute, type Route } from "./routes.ts";
import { serviceAccountUser } from "./service-account-tokens.ts";
import type { ServerState } from "./state.ts";
import { forbidden, methodNotAllowed, pathNotFound, unauthorized } from "./status.ts";
import {
  createFromRequest,
  deleteCollectionFromRequest,
  deleteFromRequest,
  patchFromRequest,
  replaceFromRequest,
} from "./writes.ts";

export interface IncomingCall {
  request: IncomingMessage;
  response: ServerResponse;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/**
 * Bearer tokens only (a test's users, then ServiceAccount tokens); anonymous requests are refused
 * like a cluster with anonymous auth off. The user comes back with every rule that applies to it.
 */
export function authenticate(state: ServerState, authorization: string | undefined): FakeUser {
  const token = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
  const user = token ? (state.users.get(token) ?? serviceAccountUser(state, token)) : undefined;
  if (!user) throw unauthorized();
  return withStoredRules(state, user);
}

function checkAccess(user: FakeUser, attributes: RequestAttributes) {
  if (!authorize(user, attributes)) {
    throw forbidden(
      { group: attributes.group, plural: attributes.resource },
      attributes.name ?? "",
      forbiddenReason(user, attributes),
    );
  }
}

/** Discovery and /version: open to every authenticated user, as system:discovery grants. */
function nonResource(state: ServerState, route: Route, call: IncomingCall): Answer {
  if (call.request.method !== "GET") throw methodNotAllowed();
  const address = `${call.request.socket.localAddress}:${call.request.socket.localPort}`;
  const body =
    route.type === "version"
      ? versionInfo(state.gitVersion)
      : route.type === "api-versions"
        ? apiVersions(address)
        : route.type === "api-groups"
          ? apiGroupList(state.catalog)
          : route.type === "api-group"
            ? apiGroupDocument(state.catalog, route.group)
            : route.type === "api-resources"
              ? apiResourceList(state.catalog, route.groupVersion)
              : undefined;
  if (!body) throw pathNotFound();
  return { code: 200, body };
}

export function routeCall(state: ServerState, user: FakeUser, call: IncomingCall): Answer {
  const route = parseRoute(call.path);
  if (route.type !== "resource") return nonResource(state, route, call);
  const resource = state.catalog.byPlural(route.groupVersion, route.plural);
  if (!resource || (route.subresource && !(route.subresource === "status" && resource.statusSubresource))) {
    throw pathNotFound();
  }
  if (route.namespace !== undefined && !resource.namespaced) throw pathNotFound();
  const method = call.request.method ?? "GET";
  const watch = ["true", "1"].includes(call.query.get("watch") ?? "");
  const attributes: RequestAttributes = {
    verb: verbOf(method, route.name !== undefined, watch),
    group: resource.group,
    resource: resource.plural,
    subresource: route.subresource,
    namespace: route.namespace,
    name: route.name,
  };
  if (resource.plural === "selfsubjectaccessreviews") {
    // Every authenticated user may ask about itself (system:basic-user).
    if (method !== "POST") throw methodNotAllowed();
    return { code: 201, body: selfSubjectAccessReview(user, call.body) };
  }
  checkAccess(user, attributes);
  const request: ResourceRequest = {
    method,
    target: {
      resource,
      namespace: route.namespace,
      name: route.name ?? "",
      scope: route.subresource ? "status" : "main",
    },
    name: route.name,
    query: call.query,
    contentType: (call.request.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "",
    userAgent: call.request.headers["user-agent"],
    body: call.body,
    user,
    response: call.response,
  };
  if (route.name === undefined) {
    if (method === "GET") return watch ? watchObjects(state, request) : listObjects(state, request);
    if (method === "POST") return createFromRequest(state, request);
    if (method === "DELETE") return deleteCollectionFromRequest(state, request);
    throw methodNotAllowed();
  }
  switch (method) {
    case "GET":
      return getObject(state, request);
    case "PUT":
      return replaceFromRequest(state, request);
    case "PATCH":
      // An apply that creates the object needs the create permission as well.
      if (request.contentType === "application/apply-patch+yaml" && !readObject(state, request.target))
        checkAccess(user, { ...attributes, verb: "create" });
      return patchFromRequest(state, request);
    case "DELETE":
      return deleteFromRequest(state, request);
    default:
      throw methodNotAllowed();
  }
}
