import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type KubeObject, RESOURCE_TYPES, type RecordedRequest, startKubeFake } from "@vwksp/kube-fake";

// The agent's tests against the workspace's one Kubernetes API stand-in (@vwksp/kube-fake), over
// HTTPS with a test CA and a bearer token, through the small surface these tests were written for.

export type { RecordedRequest };

const kindOf = (apiVersion: string, resource: string) => {
  const type = RESOURCE_TYPES.find(
    (r) => (r.group ? `${r.group}/${r.version}` : r.version) === apiVersion && r.plural === resource,
  );
  if (!type) throw new Error(`fake kube: unknown ${apiVersion} ${resource}`);
  return type.kind;
};

export async function startFakeKube(options: { token?: string; gitVersion?: string } = {}) {
  const kube = await startKubeFake({
    token: options.token ?? "fake-kube-token",
    gitVersion: options.gitVersion ?? "v1.31.2",
    namespaces: ["vworkspace-system"],
    // These tests were written against a simpler fake: they read a generation off ConfigMaps and
    // compare namespace labels exactly. A real API server does neither of those for them.
    deviations: { generationOnEveryKind: true, omitNamespaceNameLabel: true },
  });

  return {
    url: kube.url,
    requests: kube.requests,
    object: (apiVersion: string, resource: string, namespace: string | undefined, name: string) =>
      kube.get({ apiVersion, kind: kindOf(apiVersion, resource), namespace, name }),
    /** Seeds an object, written (not applied) by another field manager. */
    seed: (apiVersion: string, object: Omit<KubeObject, "apiVersion">, manager = "kubectl") =>
      kube.put({ ...object, apiVersion } as KubeObject, manager),
    /** The next matching request answers this Status instead. */
    failNext(method: string, path: RegExp, code: number, reason: string, message: string) {
      kube.fail({ method, path, times: 1, respond: { code, reason, message } });
    },
    /** A kubeconfig file for this server: inline CA data, the token, namespace default. */
    async writeKubeconfig(dir: string) {
      const path = join(dir, "kubeconfig");
      await writeFile(path, kube.kubeconfigYaml({ namespace: "default" }));
      return path;
    },
    close: () => kube.close(),
  };
}

export type FakeKube = Awaited<ReturnType<typeof startFakeKube>>;
