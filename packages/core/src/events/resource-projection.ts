import type { AgentEvent, Condition } from "@vwksp/protocol";
import type { Prisma } from "../db.ts";
import { mergeConditions, type ProjectedStatus } from "./conditions.ts";

export interface ProjectedResource {
  ref: AgentEvent["resourceRef"];
  status: ProjectedStatus;
}

const resourceKey = (ref: AgentEvent["resourceRef"]) =>
  `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ""}|${ref.name}`;

/**
 * Projects ConditionTransition events onto ResourceStatus rows, in a fixed number of statements
 * whatever the batch holds: the stored statuses of all its resources are read and locked at
 * once, merged here, and written back at once. Returns each resource's status after the batch.
 */
export async function projectResources(
  tx: Prisma.TransactionClient,
  clusterId: string,
  events: AgentEvent[],
  now: Date,
): Promise<ProjectedResource[]> {
  const byResource = new Map<string, AgentEvent[]>();
  for (const event of events) {
    const key = resourceKey(event.resourceRef);
    const group = byResource.get(key);
    if (group) group.push(event);
    else byResource.set(key, [event]);
  }
  if (byResource.size === 0) return [];
  const refs = [...byResource.values()].map((group) => (group[0] as AgentEvent).resourceRef);
  const column = <T>(pick: (ref: AgentEvent["resourceRef"]) => T) => refs.map(pick);

  // Locked in id order, so two batches about the same resources cannot deadlock.
  const stored = await tx.$queryRaw<
    { key: string; uid: string | null; generation: number | null; conditions: Condition[] }[]
  >`
    SELECT r."apiVersion" || '|' || r.kind || '|' || r.namespace || '|' || r.name AS key,
           r.uid, r.generation, r.conditions
    FROM "ResourceStatus" r
    JOIN unnest(${column((ref) => ref.apiVersion)}::text[], ${column((ref) => ref.kind)}::text[],
                ${column((ref) => ref.namespace ?? "")}::text[], ${column((ref) => ref.name)}::text[])
      AS i(api_version, kind, namespace, name)
      ON r."clusterId" = ${clusterId}::uuid AND r."apiVersion" = i.api_version AND r.kind = i.kind
         AND r.namespace = i.namespace AND r.name = i.name
    ORDER BY r.id
    FOR UPDATE OF r`;
  const storedByKey = new Map(stored.map((row) => [row.key, row]));

  const projected = [...byResource].map(([key, group]) => {
    const before = storedByKey.get(key);
    let status: ProjectedStatus = {
      uid: before?.uid ?? null,
      generation: before?.generation ?? null,
      conditions: before?.conditions ?? [],
    };
    for (const event of group) {
      status = mergeConditions(status, {
        uid: event.resourceRef.uid,
        generation: event.resourceRef.generation,
        conditions: event.conditions ?? [],
      });
    }
    return { ref: (group[0] as AgentEvent).resourceRef, status };
  });

  await tx.$executeRaw`
    INSERT INTO "ResourceStatus" ("clusterId", "apiVersion", kind, namespace, name, uid, generation, conditions, "updatedAt")
    SELECT ${clusterId}::uuid, i.api_version, i.kind, i.namespace, i.name, i.uid, i.generation, i.conditions::jsonb,
           ${now.toISOString()}::timestamp
    FROM unnest(${column((ref) => ref.apiVersion)}::text[], ${column((ref) => ref.kind)}::text[],
                ${column((ref) => ref.namespace ?? "")}::text[], ${column((ref) => ref.name)}::text[],
                ${projected.map(({ status }) => status.uid)}::text[],
                ${projected.map(({ status }) => status.generation)}::int[],
                ${projected.map(({ status }) => JSON.stringify(status.conditions))}::text[])
      AS i(api_version, kind, namespace, name, uid, generation, conditions)
    ON CONFLICT ("clusterId", "apiVersion", kind, namespace, name) DO UPDATE SET
      uid = EXCLUDED.uid, generation = EXCLUDED.generation, conditions = EXCLUDED.conditions,
      "updatedAt" = EXCLUDED."updatedAt"`;
  return projected;
}
