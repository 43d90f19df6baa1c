import type { AgentEvent, Condition } from "@vwksp/protocol";
import type { Prisma } from "../db.ts";
import { mergeConditions } from "./conditions.ts";

const CLUSTER_GROUP = "ops.vworkspace.io/";

/**
 * The operator's Cluster custom resource as it last reported itself, and its conditions: the
 * cluster's health. Kept on the Cluster row (`clusterResource`), one per cluster.
 */
export interface ClusterResource {
  apiVersion: string;
  namespace: string | null;
  name: string;
  uid: string | null;
  generation: number | null;
  conditions: Condition[];
}

/**
 * An event about the operator's Cluster custom resource, whatever its name, namespace or uid:
 * the credential says which cluster it is about, never the reference (the operator names the CR
 * after `--cluster-name`, not after our id).
 */
export const isClusterResourceEvent = (event: AgentEvent) =>
  event.resourceRef.kind === "Cluster" && event.resourceRef.apiVersion.startsWith(CLUSTER_GROUP);

/** The stored JSON as a ClusterResource; anything else (never written by us) reads as none. */
export function clusterResourceOf(value: unknown): ClusterResource | null {
  if (typeof value !== "object" || value === null) return null;
  const stored = value as Partial<ClusterResource>;
  if (typeof stored.name !== "string" || typeof stored.apiVersion !== "string") return null;
  return {
    apiVersion: stored.apiVersion,
    namespace: stored.namespace ?? null,
    name: stored.name,
    uid: stored.uid ?? null,
    generation: stored.generation ?? null,
    conditions: Array.isArray(stored.conditions) ? stored.conditions : [],
  };
}

/**
 * Folds events about the Cluster CR into the stored projection, with the rules of every other
 * resource (older generations and transitions never win; a new uid is a new CR). The name and
 * namespace follow the CR the conditions belong to, so admins can find it with
 * `kubectl get clusters.ops.vworkspace.io -A`.
 */
export function foldClusterResource(current: ClusterResource | null, events: AgentEvent[]): ClusterResource {
  let resource = current;
  for (const event of events) {
    const ref = event.resourceRef;
    const status = mergeConditions(
      {
        uid: resource?.uid ?? null,
        generation: resource?.generation ?? null,
        conditions: resource?.conditions ?? [],
      },
      { uid: ref.uid, generation: ref.generation, conditions: event.conditions ?? [] },
    );
    const sameObject = !ref.uid || ref.uid === status.uid;
    resource = {
      ...(sameObject || !resource
        ? { apiVersion: ref.apiVersion, namespace: ref.namespace || null, name: ref.name }
        : { apiVersion: resource.apiVersion, namespace: resource.namespace, name: resource.name }),
      uid: status.uid,
      generation: status.generation,
      conditions: status.conditions,
    };
  }
  if (!resource) throw new Error("foldClusterResource needs a stored resource or at least one event");
  return resource;
}

/**
 * Applies a batch's Cluster CR events to the cluster's row (locked, read, merged, written) and
 * says whether its conditions changed, i.e. whether the health pushed to Odoo may have.
 */
export async function projectClusterResource(
  tx: Prisma.TransactionClient,
  clusterId: string,
  events: AgentEvent[],
): Promise<{ conditionsChanged: boolean }> {
  if (events.length === 0) return { conditionsChanged: false };
  const [row] = await tx.$queryRaw<{ clusterResource: unknown }[]>`
    SELECT "clusterResource" FROM "Cluster" WHERE id = ${clusterId}::uuid FOR UPDATE`;
  const before = clusterResourceOf(row?.clusterResource);
  const after = foldClusterResource(before, events);
  await tx.$executeRaw`
    UPDATE "Cluster" SET "clusterResource" = ${JSON.stringify(after)}::jsonb WHERE id = ${clusterId}::uuid`;
  return { conditionsChanged: JSON.stringify(before?.conditions ?? []) !== JSON.stringify(after.conditions) };
}
