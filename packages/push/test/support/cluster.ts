import { type KubeFake, type KubeFakeOptions, type KubeObject, startKubeFake } from "@vwksp/kube-fake";
import { vi } from "vitest";
import { intakeKubeconfig } from "../../src/kubeconfig/intake.ts";
import type { PushKubeconfig } from "../../src/kubeconfig/types.ts";
import { kubeconfigYaml, renderPushKubeconfig } from "../../src/rbac/kubeconfig.ts";
import { type Manifest, renderPushRbac } from "../../src/rbac/render.ts";

export const SYSTEM = "vworkspace-system";
/** The cluster's allowed namespaces; org-c exists but is not allowed. */
export const NAMESPACES = ["org-a", "org-b"];

export const startCluster = (options: KubeFakeOptions = {}) =>
  startKubeFake({ namespaces: [SYSTEM, ...NAMESPACES, "org-c"], ...options });

/**
 * Retries an assertion until it holds. Generous: the machine's cores are shared, and an event
 * that takes milliseconds alone can take seconds under load.
 */
export const eventually = <T>(assertion: () => T | Promise<T>) =>
  vi.waitFor(assertion, { timeout: 15_000, interval: 20 });

/** The kubeconfig an administrator would get for the fake's admin token (cluster-admin). */
export const adminKubeconfig = (kube: KubeFake, token = kube.token): PushKubeconfig =>
  intakeKubeconfig(kube.kubeconfigYaml({ token })).kubeconfig;

/**
 * What the administrator does with `vwksp-agent push-credentials`: applies the rendered RBAC (as
 * cluster admin), reads the token the token controller put into the Secret, and pastes the
 * rendered kubeconfig. The fake authorizes that token from the applied objects alone.
 */
export async function provisionPushCredential(kube: KubeFake, namespaces: readonly string[] = NAMESPACES) {
  const manifests = renderPushRbac({ namespaces });
  for (const manifest of manifests) kube.apply(manifest as KubeObject, "kubectl");
  const secret = manifests.find((manifest) => manifest.kind === "Secret") as Manifest;
  const data = await eventually(() => {
    const stored = kube.get({ ...secret, name: secret.metadata.name, namespace: secret.metadata.namespace });
    const filled = stored?.data as Record<string, string> | undefined;
    if (!filled?.token) throw new Error("the token Secret is not filled yet");
    return filled;
  });
  const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString();
  const token = decode(data.token);
  const pasted = kubeconfigYaml(
    renderPushKubeconfig({ server: kube.url, caCertificate: decode(data["ca.crt"]), token }),
  );
  return { manifests, token, kubeconfig: intakeKubeconfig(pasted).kubeconfig };
}

/** Removes one rendered object from the cluster, as an administrator's `kubectl delete` would. */
export const removeManifest = (kube: KubeFake, manifest: Manifest) =>
  kube.remove({ ...manifest, name: manifest.metadata.name, namespace: manifest.metadata.namespace });

/** The Cluster CR as the operator's install creates it: cluster-scoped, named by --cluster-name. */
export const clusterResource = (name: string, clusterId: string) => ({
  apiVersion: "ops.vworkspace.io/v1alpha1",
  kind: "Cluster",
  metadata: { name },
  spec: { clusterId, controlPlaneEndpoint: "https://cp.example" },
});
