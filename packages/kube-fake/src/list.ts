import { requestedVersion, selectorOf } from "./reads.ts";
import type { Answer, ResourceRequest } from "./resource-request.ts";
import { groupVersionOf } from "./resources.ts";
import type { ServerState } from "./state.ts";
import { badRequest, expired, tooLargeResourceVersion } from "./status.ts";
import type { KubeObject } from "./types.ts";

const INCONSISTENT_CONTINUE =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/** A continue token: the snapshot's resourceVersion (-1: the latest) and the key to start after. */
interface ContinueToken {
  rv: number;
  start: string;
}

const encodeToken = (token: ContinueToken) =>
  Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", ...token })).toString("base64url");

function decodeToken(text: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(text, "base64url").toString());
    if (typeof token.rv === "number" && typeof token.start === "string") return token;
  } catch {
    // falls through to the API server's answer for a token it cannot read
  }
  throw badRequest(
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
  );
}

const keyOf = (object: KubeObject) => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;

/** Which snapshot a list reads: latest, an Exact past one, or the one a continue token holds. */
function snapshot(state: ServerState, request: ResourceRequest) {
  const { resource, namespace } = request.target;
  const current = state.store.revision();
  const continueText = request.query.get("continue");
  const requested = requestedVersion(request.query);
  if (continueText) {
    if (requested !== undefined)
      throw badRequest("specifying resource version is not allowed when using continue");
    const token = decodeToken(continueText);
    const rv = token.rv === -1 ? current : token.rv;
    const items = state.store.listAt(resource, namespace, rv);
    if (!items) {
      const error = expired(INCONSISTENT_CONTINUE);
      error.status.metadata.continue = encodeToken({ rv: -1, start: token.start });
      throw error;
    }
    return { rv, items: items.filter((object) => keyOf(object) > token.start) };
  }
  if (requested !== undefined && requested > current) throw tooLargeResourceVersion(requested, current);
  if (requested !== undefined && request.query.get("resourceVersionMatch") === "Exact") {
    const items = state.store.listAt(resource, namespace, requested);
    if (!items) throw expired("The resourceVersion for the provided list is too old.");
    return { rv: requested, items };
  }
  // Not older than the requested version: the latest state always qualifies.
  return { rv: current, items: state.store.list(resource, namespace) };
}

/** GET on a collection: selectors, resourceVersion semantics, and pages with `limit`/`continue`. */
export function listObjects(state: ServerState, request: ResourceRequest): Answer {
  const { resource } = request.target;
  const { rv, items } = snapshot(state, request);
  const matching = items.filter(selectorOf(request.query));
  const limit = Number(request.query.get("limit"));
  const page = limit > 0 ? matching.slice(0, limit) : matching;
  const last = page.at(-1);
  const more = page.length < matching.length && last !== undefined;
  return {
    code: 200,
    body: {
      kind: `${resource.kind}List`,
      apiVersion: groupVersionOf(resource),
      metadata: {
        resourceVersion: String(rv),
        ...(more ? { continue: encodeToken({ rv, start: keyOf(last) }) } : {}),
        ...(more && !request.query.get("labelSelector") && !request.query.get("fieldSelector")
          ? { remainingItemCount: matching.length - page.length }
          : {}),
      },
      // Typed lists drop the items' apiVersion/kind; unstructured (CRD) lists keep them.
      items: page.map((object) => {
        if (resource.custom) return object;
        const { apiVersion: _a, kind: _k, ...rest } = object;
        return rest;
      }),
    },
  };
}
