import type { KubeFake, RecordedRequest } from "@vwksp/kube-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { type ClusterClient, createClusterClient } from "../src/client/cluster-client.ts";
import { KubeStatusError } from "../src/client/kube-errors.ts";
import { createPushExecutor } from "../src/execute/executor.ts";
import { intakeKubeconfig } from "../src/kubeconfig/intake.ts";
import { kubeconfigYaml, renderPushKubeconfig } from "../src/rbac/kubeconfig.ts";
import { type Manifest, manifestsYaml, renderPushRbac } from "../src/rbac/render.ts";
import { type AccessCheck, describeAccess, requiredAccess } from "../src/validate/access-review.ts";
import {
  clusterResource,
  eventually,
  NAMESPACES,
  provisionPushCredential,
  removeManifest,
  startCluster,
} from "./support/cluster.ts";
import {
  applicationInstance,
  CLUSTER_ID,
  deleteInstanceJob,
  ensureJob,
  OPS,
  operation,
  requestOperationJob,
} from "./support/jobs.ts";
import { startWatching } from "./support/watching.ts";

const SERVICE_ACCOUNT = "system:serviceaccount:vworkspace-system:vworkspace-control-plane";
let kube: KubeFake;
let credential: Awaited<ReturnType<typeof provisionPushCredential>>;
let client: ClusterClient;

beforeAll(async () => {
  kube = await startCluster({ bookmarkIntervalMs: 100 });
  credential = await provisionPushCredential(kube);
  client = createClusterClient(credential.kubeconfig, { requestTimeoutMs: 3_000 });
});
afterAll(async () => {
  client?.close();
  await kube?.close();
});

const find = (kind: string, namespace?: string) =>
  credential.manifests.find((m) => m.kind === kind && m.metadata.namespace === namespace) as Manifest;

/** What RBAC saw a request as (the API server's RequestInfo), apply-creates also as create. */
function accessOf(request: RecordedRequest): AccessCheck[] {
  const parts = request.path.split("/").filter(Boolean);
  const rest = parts.slice(3);
  const namespaced = rest[0] === "namespaces";
  const [resource = "", name] = namespaced ? rest.slice(2) : rest;
  const verb =
    request.method === "GET"
      ? name
        ? "get"
        : request.query.get("watch")
          ? "watch"
          : "list"
      : ({ POST: "create", PATCH: "patch", DELETE: "delete" } as Record<string, string>)[request.method];
  const base = { group: parts[1] ?? "", resource, ...(namespaced ? { namespace: rest[1] } : {}) };
  const checks = [{ verb: verb ?? "", ...base }];
  return request.method === "PATCH" && request.code === 201
    ? [...checks, { ...base, verb: "create" }]
    : checks;
}

describe("least-privilege RBAC", () => {
  it("renders a ServiceAccount, its token Secret, and exactly the executor's and watches' rules", () => {
    const manifests = renderPushRbac({ namespaces: ["org-b", "org-a", "org-a"] });
    expect(manifests.map((m) => `${m.kind} ${m.metadata.namespace ?? "-"}/${m.metadata.name}`)).toEqual([
      "ServiceAccount vworkspace-system/vworkspace-control-plane",
      "Secret vworkspace-system/vworkspace-control-plane-token",
      "ClusterRole -/vworkspace-control-plane-applications",
      "RoleBinding org-a/vworkspace-control-plane",
      "RoleBinding org-b/vworkspace-control-plane",
      "ClusterRole -/vworkspace-control-plane-clusters",
      "ClusterRoleBinding -/vworkspace-control-plane-clusters",
    ]);
    expect(manifests[2]?.rules).toEqual([
      {
        apiGroups: ["apps.vworkspace.io"],
        resources: ["applicationinstances"],
        verbs: ["create", "delete", "get", "list", "patch", "watch"],
      },
      {
        apiGroups: ["ops.vworkspace.io"],
        resources: ["operations"],
        verbs: ["create", "delete", "get", "list", "patch", "watch"],
      },
    ]);
    expect(manifests[5]?.rules).toEqual([
      { apiGroups: ["ops.vworkspace.io"], resources: ["clusters"], verbs: ["list", "watch"] },
    ]);
    expect(manifests[1]).toMatchObject({
      type: "kubernetes.io/service-account-token",
      metadata: { annotations: { "kubernetes.io/service-account.name": "vworkspace-control-plane" } },
    });
    expect(parseAllDocuments(manifestsYaml(manifests)).map((document) => document.toJS())).toEqual(manifests);
  });

  it("renders a kubeconfig that intake takes as it is", () => {
    const pasted = renderPushKubeconfig({
      server: kube.url,
      caCertificate: kube.caCert,
      token: credential.token,
    });
    const intake = intakeKubeconfig(kubeconfigYaml(pasted));
    expect(intake.kubeconfig).toEqual(pasted);
    expect(intake.summary).toMatchObject({ authentication: "token", certificateAuthority: "inline" });
  });

  it("lets the executor and the watches do their work with those rights, and every right is used", async () => {
    const firstRequest = kube.requests.length;
    const executor = createPushExecutor({ client, clusterId: CLUSTER_ID });
    kube.put(clusterResource("cluster-local", CLUSTER_ID));
    const watching = startWatching(kube, credential.kubeconfig);
    try {
      await watching.connected();
      for (const namespace of NAMESPACES) {
        const outcomes = [
          await executor.execute(ensureJob(applicationInstance(namespace, "vault"))),
          await executor.execute(requestOperationJob(operation(namespace, "backup-1"))),
          await executor.execute(requestOperationJob(operation(namespace, "backup-1"))),
          await executor.execute({ kind: "apply", payload: operation(namespace, "restore-1", "Restore") }),
          await executor.execute({
            kind: "delete",
            payload: { apiVersion: OPS, kind: "Operation", name: "restore-1", namespace },
          }),
          await executor.execute(deleteInstanceJob(namespace, "vault")),
        ];
        expect(outcomes.map((result) => result.outcome)).toEqual([
          "succeeded",
          "succeeded",
          "noop",
          "succeeded",
          "succeeded",
          "succeeded",
        ]);
      }
    } finally {
      await watching.close();
    }
    const made = kube.requests
      .slice(firstRequest)
      .filter(
        (request) =>
          request.user === SERVICE_ACCOUNT &&
          request.path.startsWith("/apis/") &&
          request.path.split("/").length > 4,
      );
    expect(made.filter((request) => request.code === 403)).toEqual([]);
    const used = new Set(made.flatMap(accessOf).map(describeAccess));
    const granted = new Set(requiredAccess(NAMESPACES).map(describeAccess));
    expect([...used].sort()).toEqual([...granted].sort());
  });

  it("refuses what is not granted: Secrets, namespaces, other namespaces, cluster-wide lists, Flux", async () => {
    const refused = async (path: string) => {
      const error = await client.http.getJson(path).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(KubeStatusError);
      return (error as KubeStatusError).statusCode;
    };
    expect(await refused("/api/v1/namespaces/vworkspace-system/secrets")).toBe(403);
    expect(await refused("/api/v1/namespaces")).toBe(403);
    expect(await refused("/apis/apps.vworkspace.io/v1alpha1/namespaces/org-c/applicationinstances")).toBe(
      403,
    );
    expect(await refused("/apis/apps.vworkspace.io/v1alpha1/applicationinstances")).toBe(403);
    expect(await refused("/apis/helm.toolkit.fluxcd.io/v2/namespaces/org-a/helmreleases")).toBe(403);
  });

  it("without a namespace's RoleBinding, the executor gets Forbidden there and that namespace's watches too", async () => {
    const binding = find("RoleBinding", "org-b");
    removeManifest(kube, binding);
    const watching = startWatching(kube, credential.kubeconfig);
    try {
      const executor = createPushExecutor({ client, clusterId: CLUSTER_ID });
      await expect(executor.execute(ensureJob(applicationInstance("org-b", "vault")))).resolves.toMatchObject(
        {
          outcome: "failed",
          error: `applicationinstances.apps.vworkspace.io "vault" is forbidden: User "${SERVICE_ACCOUNT}" cannot patch resource "applicationinstances" in API group "apps.vworkspace.io" in the namespace "org-b"`,
        },
      );
      await eventually(() => {
        expect(watching.stream("applicationinstances", "org-b").lastError?.reason).toBe("Forbidden");
        expect(watching.stream("operations", "org-b").lastError?.reason).toBe("Forbidden");
        expect(watching.stream("applicationinstances", "org-a").connected).toBe(true);
      });
      kube.apply(binding as never, "kubectl");
      // The streams keep retrying: the restored binding lets them in.
      await watching.connected();
      const reported = JSON.stringify({
        health: watching.manager.health(),
        errors: watching.errors.map(({ error }) => error.message),
      });
      expect(reported).toContain("forbidden");
      expect(reported).not.toContain(credential.token);
    } finally {
      await watching.close();
      kube.apply(binding as never, "kubectl");
    }
  });

  it("without the ClusterRoleBinding, the Cluster CR's watch gets Forbidden", async () => {
    const binding = find("ClusterRoleBinding");
    removeManifest(kube, binding);
    const watching = startWatching(kube, credential.kubeconfig);
    try {
      await eventually(() => {
        expect(watching.stream("clusters").lastError?.reason).toBe("Forbidden");
        expect(watching.stream("clusters").lastError?.message).toBe(
          `clusters.ops.vworkspace.io is forbidden: User "${SERVICE_ACCOUNT}" cannot list resource "clusters" in API group "ops.vworkspace.io" at the cluster scope`,
        );
      });
    } finally {
      await watching.close();
      kube.apply(binding as never, "kubectl");
    }
  });
});
