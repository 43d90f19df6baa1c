import { formatOdooDatetime } from "@vwksp/odoo";
import type { Cluster } from "../db.ts";
import { clusterHealthOf } from "../health/cluster-health.ts";

/**
 * The runtime fields this service owns and pushes to Odoo, each with how its Odoo value is made
 * from the cluster (`false` is Odoo's empty). A new runtime field is one line here (and its
 * column); models without the field simply do not get it.
 */
export const RUNTIME_FIELDS = [
  { logical: "state", value: (cluster: Cluster) => cluster.status },
  { logical: "last_heartbeat", value: (cluster: Cluster) => odooDatetime(cluster.lastHeartbeatAt) },
  { logical: "operator_version", value: (cluster: Cluster) => cluster.operatorVersion ?? false },
  { logical: "flux_version", value: (cluster: Cluster) => cluster.fluxVersion ?? false },
  { logical: "velero_version", value: (cluster: Cluster) => cluster.veleroVersion ?? false },
  { logical: "kubernetes_version", value: (cluster: Cluster) => cluster.kubernetesVersion ?? false },
  { logical: "last_seen", value: (cluster: Cluster) => odooDatetime(cluster.lastSeenAt) },
  /** The worst current condition in words (the Cluster CR's and the job channel's); empty when all is well. */
  { logical: "health_message", value: (cluster: Cluster) => clusterHealthOf(cluster).healthMessage ?? false },
] as const satisfies readonly { logical: string; value: (cluster: Cluster) => string | false }[];

export type RuntimeField = (typeof RUNTIME_FIELDS)[number]["logical"];

function odooDatetime(date: Date | null): string | false {
  return date ? formatOdooDatetime(date) : false;
}

/** Odoo reads an empty field as `false`; an empty string means the same here. */
export function sameOdooValue(ours: unknown, theirs: unknown): boolean {
  const empty = (value: unknown) => value === false || value === null || value === undefined || value === "";
  if (empty(ours) || empty(theirs)) return empty(ours) && empty(theirs);
  return ours === theirs;
}
