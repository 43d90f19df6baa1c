import {
  APPLICATION_INSTANCE,
  CLUSTER_ID_LABEL,
  CLUSTER_RESOURCE,
  MANAGED_BY_CONTROL_PLANE,
  MANAGED_BY_LABEL,
} from "@vwksp/protocol";
import { z } from "zod";
import { DNS_LABEL, isDnsSubdomain } from "../names.ts";

/** The operator's namespace: it resolves `registrationTokenSecretRef` there and nowhere else. */
export const OPERATOR_NAMESPACE = "vworkspace-system";
/** The Secret key the operator reads when the reference names none (DefaultRegistrationTokenKey). */
export const REGISTRATION_TOKEN_KEY = "registrationToken";

/**
 * An ApplicationInstance as rendered for pull-mode jobs (`renderApplicationInstance(…)
 * .applicationInstance` in @vwksp/core). Only what the file layout depends on is checked; the
 * rest is written as given.
 */
export const ApplicationInstance = z.looseObject({
  apiVersion: z.literal(APPLICATION_INSTANCE.apiVersion),
  kind: z.literal(APPLICATION_INSTANCE.kind),
  metadata: z.looseObject({
    name: z.string().refine(isDnsSubdomain, "must be a DNS subdomain name"),
    namespace: z.string().regex(DNS_LABEL, "must be a DNS label"),
  }),
});
export type ApplicationInstance = z.infer<typeof ApplicationInstance>;

/** Everything the control plane wants in one cluster's directory. */
export const ClusterDesiredState = z.object({
  /** The cluster's slug: the directory's name and the Cluster CR's name. */
  slug: z.string().regex(DNS_LABEL, "must be a DNS label"),
  clusterId: z.uuid(),
  /** The service's public URL (PUBLIC_URL), as agents reach it. */
  controlPlaneEndpoint: z.url({ protocol: /^https?$/ }).max(2048),
  /** The Secret holding the registration token; never the token itself. Default `<slug>-registration`. */
  registrationTokenSecretName: z.string().regex(DNS_LABEL).optional(),
  applications: z.array(ApplicationInstance).max(10_000),
});
export type ClusterDesiredState = z.infer<typeof ClusterDesiredState>;

export const registrationSecretName = (
  state: Pick<ClusterDesiredState, "slug" | "registrationTokenSecretName">,
) => state.registrationTokenSecretName ?? `${state.slug}-registration`;

/**
 * The Cluster CR. Its CRD (vworkspace-operator, config/crd/bases/ops.vworkspace.io_clusters.yaml)
 * declares `scope: Cluster`, so it has no metadata.namespace: a namespace on a cluster-scoped
 * object is at best ignored, and with Flux's server-side apply it makes the object's identity in
 * the inventory disagree with what the API server returns. The token Secret it refers to lives in
 * the operator's namespace, which is where the operator looks.
 */
export function renderClusterResource(state: ClusterDesiredState) {
  return {
    ...CLUSTER_RESOURCE,
    metadata: {
      name: state.slug,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE,
        [CLUSTER_ID_LABEL]: state.clusterId,
      },
    },
    spec: {
      clusterId: state.clusterId,
      controlPlaneEndpoint: state.controlPlaneEndpoint,
      connectivityMode: "gitops",
      registrationTokenSecretRef: { name: registrationSecretName(state), key: REGISTRATION_TOKEN_KEY },
    },
  };
}
