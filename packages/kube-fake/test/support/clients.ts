import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from "@kubernetes/client-node";
import type { KubeFake } from "../../src/index.ts";

/** An object as the server answers it, read loosely. */
export type StoredObject = KubernetesObject & { spec?: unknown; status?: unknown; data?: unknown };

/** What a caller does with a kubeconfig it was handed: load the YAML, make clients. */
export function clientsFor(fake: KubeFake, user: { token?: string; namespace?: string } = {}) {
  const config = new KubeConfig();
  config.loadFromString(fake.kubeconfigYaml(user));
  const objects = KubernetesObjectApi.makeApiClient(config);
  return {
    config,
    objects,
    core: config.makeApiClient(CoreV1Api),
    /** Server-side apply, as the push executor will do it. */
    apply: (object: KubernetesObject, manager: string, force = false): Promise<StoredObject> =>
      objects.patch(
        structuredClone(object),
        undefined,
        undefined,
        manager,
        force,
        PatchStrategy.ServerSideApply,
      ),
  };
}

/** The HTTP code and the Status body of a refused call. */
export async function refusal(call: Promise<unknown>) {
  const error = await call.then(
    () => {
      throw new Error("expected the API server to refuse the call");
    },
    (failure: unknown) => failure,
  );
  if (!(error instanceof ApiException)) throw error;
  const body = typeof error.body === "string" ? JSON.parse(error.body) : error.body;
  return { code: error.code as number, status: body as Record<string, unknown> };
}

export const applicationInstance = (namespace: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "apps.vworkspace.io/v1alpha1",
  kind: "ApplicationInstance",
  metadata: { name, namespace },
  spec,
});

export const vaultSpec = (version = "1.2.0") => ({
  appRef: { catalogId: "vaultwarden" },
  chart: { sourceType: "oci", url: "oci://charts.example/vaultwarden", name: "vaultwarden", version },
  release: { name: "vault", namespace: "org-a" },
  values: { source: "inline", inline: {} },
});

export const instanceRef = (namespace: string, name: string) => ({
  apiVersion: "apps.vworkspace.io/v1alpha1",
  kind: "ApplicationInstance",
  namespace,
  name,
});

/** A refused call as `refusal` reads it: the code and the API server's Failure Status. */
export const failure = (
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
) => ({
  code,
  status: {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  },
});
