import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

// The edge we cannot run in tests: a Kubernetes API server, faithful where the agent relies on
// it (discovery, server-side apply with field managers, 404/409 Status bodies, namespaces).

type Json = Record<string, unknown>;
type KubeObject = Json & { metadata: Json & { name: string; namespace?: string } };

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const DISCOVERY: Record<string, Resource[]> = {
  v1: [
    { name: "namespaces", kind: "Namespace", namespaced: false },
    { name: "configmaps", kind: "ConfigMap", namespaced: true },
    { name: "secrets", kind: "Secret", namespaced: true },
  ],
  "apps/v1": [{ name: "deployments", kind: "Deployment", namespaced: true }],
  "apps.vworkspace.io/v1alpha1": [
    { name: "applicationinstances", kind: "ApplicationInstance", namespaced: true },
  ],
  "ops.vworkspace.io/v1alpha1": [{ name: "operations", kind: "Operation", namespaced: true }],
};

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

interface Failure {
  method: string;
  path: RegExp;
  code: number;
  reason: string;
  message: string;
}

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: code < 400 ? "Success" : "Failure",
  message,
  reason,
  code,
});

const specOf = ({ metadata: _m, status: _s, ...rest }: Json) => JSON.stringify(rest);

export async function startFakeKube(options: { token?: string; gitVersion?: string } = {}) {
  const token = options.token ?? "fake-kube-token";
  const objects = new Map<string, KubeObject>();
  const owners = new Map<string, string>();
  const requests: RecordedRequest[] = [];
  const failures: Failure[] = [];
  let resourceVersion = 100;

  const key = (gv: string, resource: string, namespace: string | undefined, name: string) =>
    `${gv}|${resource}|${namespace ?? ""}|${name}`;

  function store(
    gv: string,
    resource: string,
    namespace: string | undefined,
    object: KubeObject,
    previous?: KubeObject,
  ) {
    const generation = previous
      ? specOf(previous) === specOf(object)
        ? (previous.metadata.generation as number)
        : (previous.metadata.generation as number) + 1
      : 1;
    const stored: KubeObject = {
      ...object,
      metadata: {
        ...object.metadata,
        ...(namespace ? { namespace } : {}),
        uid: previous?.metadata.uid ?? randomUUID(),
        generation,
        resourceVersion: String(++resourceVersion),
        creationTimestamp:
          previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      },
    };
    objects.set(key(gv, resource, namespace, object.metadata.name), stored);
    return stored;
  }

  /** Seeds an object, optionally owned by another field manager. */
  function seed(apiVersion: string, object: KubeObject, manager = "kubectl") {
    const resource = DISCOVERY[apiVersion]?.find((r) => r.kind === object.kind);
    if (!resource) throw new Error(`fake kube: unknown ${apiVersion} ${String(object.kind)}`);
    const namespace = resource.namespaced ? (object.metadata.namespace ?? "default") : undefined;
    const stored = store(apiVersion, resource.name, namespace, { ...object, apiVersion });
    owners.set(key(apiVersion, resource.name, namespace, object.metadata.name), manager);
    return stored;
  }

  function handle(request: IncomingMessage, body: string, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://fake");
    const parsedBody = body ? JSON.parse(body) : undefined;
    requests.push({
      method: request.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      contentType: request.headers["content-type"],
      authorization: request.headers.authorization,
      body: parsedBody,
    });
    const send = (code: number, payload: unknown) => {
      response.writeHead(code, { "content-type": "application/json" });
      response.end(JSON.stringify(payload));
    };
    if (request.headers.authorization !== `Bearer ${token}`)
      return send(401, status(401, "Unauthorized", "Unauthorized"));
    const failure = failures.findIndex((f) => f.method === request.method && f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = failures.splice(failure, 1);
      if (f) return send(f.code, status(f.code, f.reason, f.message));
    }
    if (url.pathname === "/version") {
      return send(200, { major: "1", minor: "31", gitVersion: options.gitVersion ?? "v1.31.2" });
    }
    const segments = url.pathname.split("/").filter(Boolean);
    const gv = segments[0] === "api" ? (segments[1] ?? "") : `${segments[1]}/${segments[2]}`;
    const rest = segments.slice(segments[0] === "api" ? 2 : 3);
    const resources = DISCOVERY[gv];
    if (!resources)
      return send(404, status(404, "NotFound", "the server could not find the requested resource"));
    if (rest.length === 0) {
      return send(200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: gv,
        resources: resources.map((r) => ({ ...r, singularName: "", verbs: [] })),
      });
    }
    const namespaced = rest[0] === "namespaces" && rest.length >= 3;
    const namespace = namespaced ? rest[1] : undefined;
    const [resourceName, name] = namespaced ? [rest[2], rest[3]] : [rest[0], rest[1]];
    const resource = resources.find((r) => r.name === resourceName);
    if (!resource)
      return send(404, status(404, "NotFound", "the server could not find the requested resource"));
    const objectKey = key(gv, resource.name, namespace, name ?? "");
    const existing = objects.get(objectKey);
    const notFound = () => send(404, status(404, "NotFound", `${resource.name} "${name}" not found`));
    if (
      namespace &&
      !objects.has(key("v1", "namespaces", undefined, namespace)) &&
      request.method !== "GET"
    ) {
      return send(404, status(404, "NotFound", `namespaces "${namespace}" not found`));
    }

    switch (request.method) {
      case "GET":
        return existing ? send(200, existing) : notFound();
      case "DELETE":
        if (!existing) return notFound();
        objects.delete(objectKey);
        return send(200, status(200, "", ""));
      case "POST": {
        const object = parsedBody as KubeObject;
        const createKey = key(gv, resource.name, namespace, object.metadata.name);
        if (objects.has(createKey)) {
          return send(
            409,
            status(409, "AlreadyExists", `${resource.name} "${object.metadata.name}" already exists`),
          );
        }
        return send(201, store(gv, resource.name, namespace, object));
      }
      case "PATCH": {
        if (request.headers["content-type"] !== "application/apply-patch+yaml") {
          return send(415, status(415, "UnsupportedMediaType", "only apply patches are faked"));
        }
        const manager = url.searchParams.get("fieldManager");
        if (!manager) return send(400, status(400, "BadRequest", "PATCH requests require fieldManager"));
        const owner = owners.get(objectKey);
        if (existing && owner && owner !== manager && url.searchParams.get("force") !== "true") {
          return send(
            409,
            status(409, "Conflict", `Apply failed with 1 conflict: conflict with "${owner}": .data`),
          );
        }
        owners.set(objectKey, manager);
        const stored = store(gv, resource.name, namespace, parsedBody as KubeObject, existing);
        return send(existing ? 200 : 201, stored);
      }
      default:
        return send(405, status(405, "MethodNotAllowed", "method not allowed"));
    }
  }

  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => handle(request, body, response));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const name of ["default", "vworkspace-system"]) seed("v1", { kind: "Namespace", metadata: { name } });

  return {
    url,
    requests,
    object: (apiVersion: string, resource: string, namespace: string | undefined, name: string) =>
      objects.get(key(apiVersion, resource, namespace, name)),
    seed,
    /** The next matching request answers this Status instead. */
    failNext(method: string, path: RegExp, code: number, reason: string, message: string) {
      failures.push({ method, path, code, reason, message });
    },
    /** A kubeconfig pointing at this server (JSON is YAML). */
    async writeKubeconfig(dir: string) {
      const path = join(dir, "kubeconfig");
      const config = {
        apiVersion: "v1",
        kind: "Config",
        // client-node refuses plain http unless TLS verification is explicitly off.
        clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "fake", user: { token } }],
        contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace: "default" } }],
        "current-context": "fake",
      };
      await writeFile(path, JSON.stringify(config));
      return path;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeKube = Awaited<ReturnType<typeof startFakeKube>>;
