import type { KubeFake } from "@vwksp/kube-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PushKubeconfig } from "../src/kubeconfig/types.ts";
import type { Manifest } from "../src/rbac/render.ts";
import { validateCluster } from "../src/validate/probe.ts";
import {
  adminKubeconfig,
  NAMESPACES,
  provisionPushCredential,
  removeManifest,
  startCluster,
} from "./support/cluster.ts";

let kube: KubeFake;
let credential: Awaited<ReturnType<typeof provisionPushCredential>>;

beforeAll(async () => {
  kube = await startCluster({ gitVersion: "v1.30.4" });
  credential = await provisionPushCredential(kube);
});
afterAll(() => kube?.close());

const validate = (kubeconfig: PushKubeconfig, options: { timeoutMs?: number } = {}) =>
  validateCluster(kubeconfig, { namespaces: NAMESPACES, ...options });

/** The same kubeconfig with one part of its cluster or user entry replaced. */
function withCluster(change: Partial<PushKubeconfig["clusters"][0]["cluster"]>): PushKubeconfig {
  const copy = structuredClone(credential.kubeconfig);
  Object.assign(copy.clusters[0].cluster, change);
  return copy;
}

describe("validation probe", () => {
  it("connects with the rendered least-privilege credential and reports the Kubernetes version", async () => {
    await expect(validate(credential.kubeconfig)).resolves.toEqual({
      ok: true,
      kubernetesVersion: "v1.30.4",
    });
    const probed = kube.requests.filter((request) => request.user?.startsWith("system:serviceaccount:"));
    expect(probed.map((request) => `${request.method} ${request.path}`)).toEqual(
      expect.arrayContaining([
        "GET /version",
        "GET /apis/apps.vworkspace.io/v1alpha1",
        "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "GET /apis/apps.vworkspace.io/v1alpha1/namespaces/org-a/applicationinstances",
        "GET /apis/apps.vworkspace.io/v1alpha1/namespaces/org-b/applicationinstances",
      ]),
    );
  });

  it("is Unreachable when nothing listens", async () => {
    const gone = await startCluster();
    await gone.close();
    const result = await validate(withCluster({ server: gone.url }));
    expect(result).toEqual({
      ok: false,
      reason: "Unreachable",
      message: `cannot reach the API server at ${new URL(gone.url).host} (ECONNREFUSED)`,
    });
  });

  it("is a TLSError when the server's certificate is not from the kubeconfig's CA", async () => {
    const other = await startCluster();
    await other.close();
    const result = await validate(
      withCluster({ "certificate-authority-data": Buffer.from(other.caCert).toString("base64") }),
    );
    expect(result).toMatchObject({ ok: false, reason: "TLSError" });
    expect(result.ok || result.message).toMatch(
      /^TLS with the API server at 127\.0\.0\.1:\d+ failed \(\w+\)/,
    );
  });

  it("verifies the server's certificate against tls-server-name when the kubeconfig sets one", async () => {
    await expect(
      validate(withCluster({ "tls-server-name": "kubernetes.default.svc" })),
    ).resolves.toMatchObject({
      ok: true,
    });
    await expect(
      validate(withCluster({ "tls-server-name": "api.other-cluster.example" })),
    ).resolves.toMatchObject({
      ok: false,
      reason: "TLSError",
    });
  });

  it("is Unauthorized for a token the API server does not know, without quoting the token", async () => {
    const stale = structuredClone(credential.kubeconfig);
    stale.users[0].user.token = "kube-fake-sa.revoked-token-value";
    const result = await validate(stale);
    expect(result).toMatchObject({ ok: false, reason: "Unauthorized" });
    expect(JSON.stringify(result)).not.toContain("revoked-token-value");
  });

  it("is Forbidden naming each missing verb, resource and namespace", async () => {
    const binding = credential.manifests.find(
      (manifest) => manifest.kind === "RoleBinding" && manifest.metadata.namespace === "org-b",
    ) as Manifest;
    removeManifest(kube, binding);
    try {
      const result = await validate(credential.kubeconfig);
      expect(result).toMatchObject({ ok: false, reason: "Forbidden" });
      if (result.ok) return;
      expect(result.message).toBe(
        'the credential may not get applicationinstances.apps.vworkspace.io in namespace "org-b"; list applicationinstances.apps.vworkspace.io in namespace "org-b"; watch applicationinstances.apps.vworkspace.io in namespace "org-b"; create applicationinstances.apps.vworkspace.io in namespace "org-b"; patch applicationinstances.apps.vworkspace.io in namespace "org-b" (and 7 more)',
      );
      expect(result.missing).toHaveLength(12);
      expect(result.missing).toContainEqual({
        verb: "delete",
        group: "ops.vworkspace.io",
        resource: "operations",
        namespace: "org-b",
      });
    } finally {
      kube.apply(binding as never, "kubectl");
    }
    await expect(validate(credential.kubeconfig)).resolves.toMatchObject({ ok: true });
  });

  it("is Forbidden at the cluster scope without the Cluster CR's list and watch", async () => {
    const binding = credential.manifests.find(
      (manifest) => manifest.kind === "ClusterRoleBinding",
    ) as Manifest;
    removeManifest(kube, binding);
    try {
      const result = await validate(credential.kubeconfig);
      expect(result).toEqual({
        ok: false,
        reason: "Forbidden",
        message:
          "the credential may not list clusters.ops.vworkspace.io at the cluster scope; watch clusters.ops.vworkspace.io at the cluster scope",
        missing: [
          { verb: "list", group: "ops.vworkspace.io", resource: "clusters" },
          { verb: "watch", group: "ops.vworkspace.io", resource: "clusters" },
        ],
      });
    } finally {
      kube.apply(binding as never, "kubectl");
    }
  });

  it("is CRDMissing on a cluster without the vWorkspace CRDs", async () => {
    const bare = await startCluster({ omitGroups: ["ops.vworkspace.io"] });
    try {
      await expect(validate(adminKubeconfig(bare))).resolves.toEqual({
        ok: false,
        reason: "CRDMissing",
        message:
          "the API server does not serve ops.vworkspace.io/v1alpha1: the vWorkspace CRDs are not installed",
      });
    } finally {
      await bare.close();
    }
  });

  it("answers Unreachable within a few seconds when the API server hangs", async () => {
    const removeHang = kube.fail({ path: "/version", hang: true });
    const started = Date.now();
    try {
      const result = await validate(credential.kubeconfig, { timeoutMs: 1_000 });
      expect(result).toEqual({
        ok: false,
        reason: "Unreachable",
        message: `no answer from the API server at ${new URL(kube.url).host} in time`,
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      removeHang();
    }
  });
});
