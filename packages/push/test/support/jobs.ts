import type { PushJob } from "../../src/execute/executor.ts";

/** The control plane's id of the cluster, as the pipeline passes it. */
export const CLUSTER_ID = "3b9e1f7c-2d4a-4e8b-9c6f-1a2b3c4d5e6f";

export const APPS = "apps.vworkspace.io/v1alpha1";
export const OPS = "ops.vworkspace.io/v1alpha1";

/** An ApplicationInstance as the control plane renders one (core/src/jobs/render.ts). */
export const applicationInstance = (namespace: string, name: string, version = "1.2.0") => ({
  apiVersion: APPS,
  kind: "ApplicationInstance",
  metadata: { name, namespace },
  spec: {
    appRef: { catalogId: "vaultwarden" },
    chart: { sourceType: "oci", url: "oci://charts.example/vaultwarden", name: "vaultwarden", version },
    release: { name, namespace },
    values: { source: "inline", inline: { domain: `${name}.example.org` } },
  },
});

export const operation = (namespace: string, name: string, type = "Backup") => ({
  apiVersion: OPS,
  kind: "Operation",
  metadata: { name, namespace },
  spec: {
    targetRef: { apiVersion: APPS, kind: "ApplicationInstance", name: "vault" },
    type,
    engine: type === "Backup" ? "velero" : "helm",
  },
});

export const instanceRef = (namespace: string, name: string) => ({
  apiVersion: APPS,
  kind: "ApplicationInstance",
  namespace,
  name,
});

export const ensureJob = (app: ReturnType<typeof applicationInstance>): PushJob => ({
  kind: "intent",
  payload: { intent: "ensure-application-instance", applicationInstance: app },
});

export const deleteInstanceJob = (namespace: string, name: string): PushJob => ({
  kind: "intent",
  payload: { intent: "delete-application-instance", namespace, name },
});

export const requestOperationJob = (op: ReturnType<typeof operation>): PushJob => ({
  kind: "intent",
  payload: { intent: "request-operation", operation: op },
});
