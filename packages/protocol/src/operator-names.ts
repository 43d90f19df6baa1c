// Names the control plane, the reference agent, push mode and GitOps mode must spell exactly as
// the operator does (docs/agent-protocol.md): the intents a job carries, the labels on what they
// apply, and the operator's resource kinds. Spelled here once; everyone imports them.

export const ENSURE_APPLICATION_INSTANCE = "ensure-application-instance";
export const DELETE_APPLICATION_INSTANCE = "delete-application-instance";
export const REQUEST_OPERATION = "request-operation";
/** Every intent an `intent` job may name. */
export const JOB_INTENTS = [
  ENSURE_APPLICATION_INSTANCE,
  REQUEST_OPERATION,
  DELETE_APPLICATION_INSTANCE,
] as const;
export type JobIntentName = (typeof JOB_INTENTS)[number];

/** The operator's labels (internal/labels): who asked for the object, and for which cluster. */
export const MANAGED_BY_LABEL = "app.vworkspace.io/managed-by";
export const CLUSTER_ID_LABEL = "app.vworkspace.io/cluster-id";
/** The operator only reconciles ApplicationInstances and Operations carrying this value. */
export const MANAGED_BY_CONTROL_PLANE = "control-plane";

export const APPS_API_VERSION = "apps.vworkspace.io/v1alpha1";
export const OPS_API_VERSION = "ops.vworkspace.io/v1alpha1";
export const APPLICATION_INSTANCE = { apiVersion: APPS_API_VERSION, kind: "ApplicationInstance" } as const;
export const OPERATION = { apiVersion: OPS_API_VERSION, kind: "Operation" } as const;
/** The operator's Cluster CR (cluster-scoped). */
export const CLUSTER_RESOURCE = { apiVersion: OPS_API_VERSION, kind: "Cluster" } as const;

/** A JSON object: an intent's values, a catalog entry's defaults, a raw job's payload. */
export type JsonObject = Record<string, unknown>;
