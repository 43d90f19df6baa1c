import { type AgentEvent, type Condition, HEARTBEAT_KIND, MAX_EVENTS_PER_REQUEST } from "@vwksp/protocol";
import type { AuditInput, AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { AgentPrincipal } from "../credentials/credentials.service.ts";
import type { Db, Prisma } from "../db.ts";
import { badRequest, DomainError } from "../errors.ts";
import {
  conditionIs,
  DIRECT_AUDIT_KINDS,
  isHighSignal,
  mergeConditions,
  type ProjectedStatus,
} from "./conditions.ts";
import type { HeartbeatCoalescer } from "./heartbeats.ts";

export const CLUSTER_API_VERSION = "ops.vworkspace.io/v1alpha1";
const APPLICATION_INSTANCE = { apiVersion: "apps.vworkspace.io/v1alpha1", kind: "ApplicationInstance" };

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  heartbeats: HeartbeatCoalescer;
}

const resourceKey = (ref: AgentEvent["resourceRef"]) =>
  `${ref.apiVersion}|${ref.kind}|${ref.namespace ?? ""}|${ref.name}`;

/** Ready=True marks the application deployed; Degraded=True or Ready=False say why it is not. */
function applicationState(conditions: Condition[]): { state: string; reason: string | null } | undefined {
  const explain = (condition: Condition | undefined) =>
    condition
      ? `${condition.type}=${condition.status}${condition.reason ? ` ${condition.reason}` : ""}${condition.message ? `: ${condition.message}` : ""}`
      : null;
  const find = (type: string) => conditions.find((condition) => condition.type === type);
  if (conditionIs(conditions, "Degraded", "True"))
    return { state: "degraded", reason: explain(find("Degraded")) };
  if (conditionIs(conditions, "Ready", "True")) return { state: "deployed", reason: explain(find("Ready")) };
  if (conditionIs(conditions, "Ready", "False"))
    return { state: "not_ready", reason: explain(find("Ready")) };
  return undefined;
}

/** Ingests agent events: de-duplicated storage, status projection, audit trail, heartbeats. */
export function createEventsService({ db, clock, audit, heartbeats }: Deps) {
  function checkBatch(agent: AgentPrincipal, events: AgentEvent[]) {
    if (events.length > MAX_EVENTS_PER_REQUEST) {
      throw new DomainError(413, "payload_too_large", `at most ${MAX_EVENTS_PER_REQUEST} events per request`);
    }
    events.forEach((event, index) => {
      // PostgreSQL text and jsonb cannot hold NUL; refuse the batch before anything is stored
      // (a heartbeat carrying one would otherwise poison the coalesced write of every cluster).
      if (JSON.stringify(event).includes("\\u0000")) {
        throw badRequest("invalid_request", `events[${index}] contains a NUL character`);
      }
      const ref = event.resourceRef;
      if (ref.kind === "Cluster" && ref.apiVersion === CLUSTER_API_VERSION && ref.name !== agent.clusterId) {
        throw badRequest(
          "foreign_cluster",
          `events[${index}] is about cluster ${ref.name}, not this agent's cluster`,
        );
      }
    });
  }

  /**
   * Projects new ConditionTransition events onto ResourceStatus rows (and applications), in a
   * fixed number of statements whatever the batch holds: the stored statuses of all its
   * resources are read and locked at once, merged here, and written back at once.
   */
  async function project(tx: Prisma.TransactionClient, clusterId: string, events: AgentEvent[]) {
    const byResource = new Map<string, AgentEvent[]>();
    for (const event of events) {
      if (event.kind !== "ConditionTransition" || !event.conditions?.length) continue;
      const key = resourceKey(event.resourceRef);
      const group = byResource.get(key);
      if (group) group.push(event);
      else byResource.set(key, [event]);
    }
    if (byResource.size === 0) return;
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

    const now = clock.now().toISOString();
    await tx.$executeRaw`
      INSERT INTO "ResourceStatus" ("clusterId", "apiVersion", kind, namespace, name, uid, generation, conditions, "updatedAt")
      SELECT ${clusterId}::uuid, i.api_version, i.kind, i.namespace, i.name, i.uid, i.generation, i.conditions::jsonb,
             ${now}::timestamp
      FROM unnest(${column((ref) => ref.apiVersion)}::text[], ${column((ref) => ref.kind)}::text[],
                  ${column((ref) => ref.namespace ?? "")}::text[], ${column((ref) => ref.name)}::text[],
                  ${projected.map(({ status }) => status.uid)}::text[],
                  ${projected.map(({ status }) => status.generation)}::int[],
                  ${projected.map(({ status }) => JSON.stringify(status.conditions))}::text[])
        AS i(api_version, kind, namespace, name, uid, generation, conditions)
      ON CONFLICT ("clusterId", "apiVersion", kind, namespace, name) DO UPDATE SET
        uid = EXCLUDED.uid, generation = EXCLUDED.generation, conditions = EXCLUDED.conditions,
        "updatedAt" = EXCLUDED."updatedAt"`;

    const applications = projected.flatMap(({ ref, status }) => {
      if (ref.apiVersion !== APPLICATION_INSTANCE.apiVersion || ref.kind !== APPLICATION_INSTANCE.kind)
        return [];
      const state = applicationState(status.conditions);
      return state ? [{ namespace: ref.namespace ?? "", name: ref.name, ...state }] : [];
    });
    if (applications.length === 0) return;
    await tx.$executeRaw`
      UPDATE "Application" a SET state = i.state, "stateReason" = i.reason, "updatedAt" = ${now}::timestamp,
        "deployedAt" = CASE WHEN i.state = 'deployed' THEN ${now}::timestamp ELSE a."deployedAt" END
      FROM unnest(${applications.map((app) => app.namespace)}::text[], ${applications.map((app) => app.name)}::text[],
                  ${applications.map((app) => app.state)}::text[], ${applications.map((app) => app.reason)}::text[])
        AS i(namespace, name, state, reason)
      WHERE a."clusterId" = ${clusterId}::uuid AND a.namespace = i.namespace AND a.name = i.name
        AND a.state NOT IN ('deleting', 'deleted')`;
  }

  function auditEntries(agent: AgentPrincipal, events: AgentEvent[]): AuditInput[] {
    const entries: AuditInput[] = [];
    for (const event of events) {
      const base = {
        source: "agent" as const,
        actor: agent.clusterId,
        organizationId: agent.organizationId,
        clusterId: agent.clusterId,
      };
      const data = {
        eventKey: event.eventKey ?? null,
        resourceRef: event.resourceRef,
        timestamp: event.timestamp,
      };
      if (DIRECT_AUDIT_KINDS.has(event.kind)) {
        entries.push({ ...base, kind: event.kind, data: { ...data, conditions: event.conditions ?? [] } });
        continue;
      }
      for (const condition of event.conditions ?? []) {
        if (isHighSignal(condition))
          entries.push({ ...base, kind: condition.type, data: { ...data, condition } });
      }
    }
    return entries;
  }

  async function ingest(agent: AgentPrincipal, events: AgentEvent[]) {
    checkBatch(agent, events);
    const stored = events.filter((event) => event.kind !== HEARTBEAT_KIND);
    for (const event of events) {
      if (event.kind === HEARTBEAT_KIND) {
        heartbeats.heartbeat(agent.clusterId, {
          conditions: event.conditions ?? undefined,
          versions: event.cluster,
        });
      }
    }
    if (stored.length === 0) return { stored: 0, duplicates: 0 };

    // A key repeated inside one batch counts once (the first occurrence), as a replay would.
    const seenKeys = new Set<string>();
    const unique = stored.filter((event) => {
      if (!event.eventKey) return true;
      if (seenKeys.has(event.eventKey)) return false;
      seenKeys.add(event.eventKey);
      return true;
    });
    const now = clock.now();
    const rows = unique.map((event, idx) => ({
      idx,
      eventKey: event.eventKey || null,
      kind: event.kind,
      resourceRef: event.resourceRef,
      resourceKind: event.resourceRef.kind,
      resourceName: event.resourceRef.name,
      conditions: event.conditions ?? [],
      timestamp: event.timestamp,
    }));
    const inserted = await db.$transaction(async (tx) => {
      // ON CONFLICT makes a replayed batch a no-op; only new events are projected and audited.
      const created = await tx.$queryRaw<{ eventKey: string | null }[]>`
        INSERT INTO "AgentEvent" ("clusterId", "eventKey", kind, "resourceRef", "resourceKind", "resourceName", conditions, timestamp, "receivedAt")
        SELECT ${agent.clusterId}::uuid, x."eventKey", x.kind, x."resourceRef", x."resourceKind", x."resourceName", x.conditions,
               (x.timestamp AT TIME ZONE 'UTC'), ${now.toISOString()}::timestamp
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS x(idx int, "eventKey" text, kind text, "resourceRef" jsonb, "resourceKind" text, "resourceName" text, conditions jsonb, timestamp timestamptz)
        ORDER BY x.idx
        ON CONFLICT ("clusterId", "eventKey") DO NOTHING
        RETURNING "eventKey"`;
      const createdKeys = new Set(created.map((row) => row.eventKey));
      const fresh = unique.filter((event) => !event.eventKey || createdKeys.has(event.eventKey));
      await project(tx, agent.clusterId, fresh);
      await audit.recordMany(auditEntries(agent, fresh), tx);
      return fresh.length;
    });
    return { stored: inserted, duplicates: stored.length - inserted };
  }

  return { ingest };
}

export type EventsService = ReturnType<typeof createEventsService>;
