/** What a request path addresses, parsed the way the API server's mux splits it. */
export type Route =
  | { type: "version" }
  | { type: "api-versions" }
  | { type: "api-groups" }
  | { type: "api-group"; group: string }
  | { type: "api-resources"; groupVersion: string }
  | {
      type: "resource";
      groupVersion: string;
      plural: string;
      namespace: string | undefined;
      name: string | undefined;
      subresource: string | undefined;
    }
  | { type: "unknown" };

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

export function parseRoute(path: string): Route {
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (segments[0] === "version" && segments.length === 1) return { type: "version" };
  let groupVersion: string;
  let rest: string[];
  if (segments[0] === "api") {
    if (segments.length === 1) return { type: "api-versions" };
    groupVersion = segments[1] ?? "";
    rest = segments.slice(2);
  } else if (segments[0] === "apis") {
    if (segments.length === 1) return { type: "api-groups" };
    if (segments.length === 2) return { type: "api-group", group: segments[1] ?? "" };
    groupVersion = `${segments[1]}/${segments[2]}`;
    rest = segments.slice(3);
  } else {
    return { type: "unknown" };
  }
  if (rest.length === 0) return { type: "api-resources", groupVersion };
  const namespaceSubresource = rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2] ?? "");
  if (rest[0] === "namespaces" && rest.length >= 3 && !namespaceSubresource) {
    if (rest.length > 5) return { type: "unknown" };
    const [, namespace, plural = "", name, subresource] = rest;
    return { type: "resource", groupVersion, plural, namespace, name, subresource };
  }
  if (rest.length > 3) return { type: "unknown" };
  const [plural = "", name, subresource] = rest;
  return { type: "resource", groupVersion, plural, namespace: undefined, name, subresource };
}
