import { CLUSTER_ID_LABEL, MANAGED_BY_CONTROL_PLANE, MANAGED_BY_LABEL } from "@vwksp/protocol";
import type { Kube, KubeObject } from "../kube/kube.ts";
import type { ClusterBackend } from "./backend.ts";
import { refOf } from "./backend.ts";

/**
 * Jobs applied to a real cluster: server-side apply as `vworkspace-agent` with forced
 * ownership, target namespaces created when missing.
 */
export function createKubernetesBackend(kube: Kube, clusterId: string): ClusterBackend {
  // Namespaces known to exist; forgotten on a failed apply, in case one was deleted meanwhile.
  const namespaces = new Set<string>();
  let version: string | undefined;

  return {
    name: "kubernetes",
    async apply(object: KubeObject) {
      const namespace = object.metadata.namespace;
      if (namespace && !namespaces.has(namespace)) {
        await kube.ensureNamespace(namespace, {
          [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE,
          [CLUSTER_ID_LABEL]: clusterId,
        });
        namespaces.add(namespace);
      }
      try {
        const stored = await kube.apply(object);
        // The client may leave apiVersion/kind off a typed answer; the request had them.
        return refOf({ ...stored, apiVersion: object.apiVersion, kind: object.kind });
      } catch (error) {
        if (namespace) namespaces.delete(namespace);
        throw error;
      }
    },
    get: (ref) => kube.get(ref),
    remove: (ref) => kube.remove(ref),
    async version() {
      version ??= await kube.serverVersion().catch(() => undefined);
      return version;
    },
    async close() {},
  };
}
