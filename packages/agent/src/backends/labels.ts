export const MANAGED_BY_LABEL = "app.vworkspace.io/managed-by";
export const CLUSTER_ID_LABEL = "app.vworkspace.io/cluster-id";
export const MANAGED_BY_CONTROL_PLANE = "control-plane";

export const APPLICATION_INSTANCE = {
  apiVersion: "apps.vworkspace.io/v1alpha1",
  kind: "ApplicationInstance",
};
export const OPERATION = { apiVersion: "ops.vworkspace.io/v1alpha1", kind: "Operation" };
