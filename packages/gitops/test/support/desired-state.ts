import { renderApplicationInstance } from "@vwksp/core/jobs/render";
import { ENSURE_APPLICATION_INSTANCE } from "@vwksp/protocol";
import type { ApplicationInstance, ClusterDesiredState } from "../../src/index.ts";

export const CLUSTER_ID = "5b0c6f7e-8d2a-4c1b-9e3f-0a1b2c3d4e5f";
export const CLUSTER_SLUG = "prod-emea-1";

/** An ApplicationInstance exactly as a pull-mode job carries it (the same rendering function). */
export function application(
  name: string,
  options: { namespace?: string; values?: Record<string, unknown> } = {},
) {
  const rendered = renderApplicationInstance(
    CLUSTER_ID,
    {
      intent: ENSURE_APPLICATION_INSTANCE,
      catalogId: "vaultwarden",
      namespace: options.namespace ?? "org-acme",
      name,
      hostname: `${name}.example.org`,
      values: options.values,
      generation: 1,
    },
    {
      chart: {
        sourceType: "oci",
        url: "oci://registry.example.org/charts",
        name: "vaultwarden",
        version: "1.2.3",
      },
      defaultValues: { replicas: 1, storage: { size: "1Gi" } },
    },
  );
  return rendered.applicationInstance as ApplicationInstance;
}

export function desiredState(applications: ApplicationInstance[]): ClusterDesiredState {
  return {
    slug: CLUSTER_SLUG,
    clusterId: CLUSTER_ID,
    controlPlaneEndpoint: "https://workspace.example.org",
    applications,
  };
}

/** The change a deploy job makes: one application file written into the test cluster's directory. */
export const upsertChange = (name: string, options: Parameters<typeof application>[1] = {}) =>
  ({
    type: "upsert-application",
    clusterSlug: CLUSTER_SLUG,
    application: application(name, options),
  }) as const;
