// The event shapes the Go operator sends (internal/agent/client.go, reporter.go and the Cluster
// reconciler in internal/controller/cluster_controller.go), built here so tests replay them
// field for field: metav1.Condition with `observedGeneration` left out when 0 and a zero
// `lastTransitionTime` marshalled as null; Event.Timestamp with nanoseconds.

export const CLUSTER_CR_API_VERSION = "ops.vworkspace.io/v1alpha1";
export const APPLICATION_INSTANCE_API_VERSION = "apps.vworkspace.io/v1alpha1";

export interface CrRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  generation?: number;
}

export interface GoCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime: string | null;
  reason: string;
  message: string;
}

/** The Cluster CR of the bootstrap procedure (`--cluster-name=cluster-prod-1`). */
export const clusterProd1 = (uid = "8f0c2a9e-5d41-4c1b-9a57-3c2f1e0d7b6a", generation = 1): CrRef => ({
  apiVersion: CLUSTER_CR_API_VERSION,
  kind: "Cluster",
  namespace: "vworkspace-system",
  name: "cluster-prod-1",
  uid,
  generation,
});

export const applicationInstance = (
  name: string,
  uid: string,
  generation: number,
  namespace = "org-demo",
) => ({
  apiVersion: APPLICATION_INSTANCE_API_VERSION,
  kind: "ApplicationInstance",
  namespace,
  name,
  uid,
  generation,
});

export const goCondition = (
  type: string,
  status: GoCondition["status"],
  reason: string,
  message: string,
  at: string,
): GoCondition => ({ type, status, lastTransitionTime: at, reason, message });

/** ReportConditionTransitions: one event per changed condition, keyed `condition/…@generation`. */
export function goTransition(ref: CrRef, condition: GoCondition, timestamp: string) {
  const namespace = ref.namespace || "_";
  const uid = ref.uid || "_";
  return {
    eventKey: `condition/${ref.apiVersion}/${ref.kind}/${namespace}/${ref.name}/${uid}/${condition.type}/${condition.status}@${ref.generation ?? 0}`,
    kind: "ConditionTransition",
    resourceRef: ref,
    conditions: [condition],
    timestamp,
  };
}

/** ReportAudit(ref, "CredentialRotated", …) after a rotation: its condition has a zero time. */
export function goCredentialRotated(ref: CrRef, timestamp: string) {
  return {
    eventKey: `CredentialRotated/${ref.uid ?? ""}/Authenticated`,
    kind: "CredentialRotated",
    resourceRef: ref,
    conditions: [
      {
        type: "Authenticated",
        status: "True",
        lastTransitionTime: null,
        reason: "CredentialRotated",
        message: "Bootstrap credential rotated successfully",
      },
    ],
    timestamp,
  };
}

/** HTTPClient.Heartbeat(): the only event that names the cluster by the control plane's id. */
export function goHeartbeat(clusterId: string, timestamp: string) {
  return {
    kind: "ClusterHeartbeat",
    resourceRef: { apiVersion: CLUSTER_CR_API_VERSION, kind: "Cluster", namespace: "", name: clusterId },
    timestamp,
  };
}

/** What reconcileHeartbeat reports after the first successful round trip following registration. */
export function goConnectedTransitions(ref: CrRef, at: string, timestamp: string) {
  return [
    goCondition("Connected", "True", "RoundTripOK", "Recent round-trip to the control plane succeeded", at),
    goCondition("Disconnected", "False", "Connected", "Connection is alive", at),
    goCondition("Authenticated", "True", "CredentialAccepted", "Bearer token accepted", at),
    goCondition(
      "BufferOverflow",
      "False",
      "BufferDrained",
      "Outbound event buffer has drained successfully",
      at,
    ),
  ].map((condition) => goTransition(ref, condition, timestamp));
}
