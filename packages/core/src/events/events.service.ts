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

  /** Projects new ConditionTransition events onto ResourceStatus rows (and applications). */
  async function project(tx: Prisma.TransactionClient, clusterId: string, events: AgentEvent[]) {
    const byResource = new Map<string, AgentEvent[]>();
    for (const event of events) {
      if (event.kind !== "ConditionTransition" || !event.conditions?.length) continue;
      const key = resourceKey(event.resourceRef);
      byResource.set(key, [...(byResource.get(key) ?? []), event]);
    }
    for (const group of byResource.values()) {
      const ref = group[0]?.resourceRef;
      if (!ref) continue;
      const where = {
        clusterId_apiVersion_kind_namespace_name: {
          clusterId,
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          namespace: ref.namespace ?? "",
          name: ref.name,
        },
      };
      await tx.$executeRaw`SELECT 1 FROM "ResourceStatus" WHERE "clusterId" = ${clusterId}::uuid AND "apiVersion" = ${ref.apiVersion}
        AND kind = ${ref.kind} AND namespace = ${ref.namespace ?? ""} AND name = ${ref.name} FOR UPDATE`;
      const stored = await tx.resourceStatus.findUnique({ where });
      let status: ProjectedStatus = {
        uid: stored?.uid ?? null,
        generation: stored?.generation ?? null,
        conditions: (stored?.conditions as Condition[] | undefined) ?? [],
      };
      for (const event of group) {
        status = mergeConditions(status, {
          uid: event.resourceRef.uid,
          generation: event.resourceRef.generation,
          conditions: event.conditions ?? [],
        });
      }
      const data = {
        uid: status.uid,
        generation: status.generation,
        conditions: status.conditions as Prisma.InputJsonValue,
      };
      await tx.resourceStatus.upsert({
        where,
        create: { ...where.clusterId_apiVersion_kind_namespace_name, ...data },
        update: data,
      });
      if (ref.apiVersion === APPLICATION_INSTANCE.apiVersion && ref.kind === APPLICATION_INSTANCE.kind) {
        await updateApplication(tx, clusterId, ref.namespace ?? "", ref.name, status.conditions);
      }
    }
  }

  /** Ready=True marks the application deployed; Degraded=True or Ready=False say why it is not. */
  async function updateApplication(
    tx: Prisma.TransactionClient,
    clusterId: string,
    namespace: string,
    name: string,
    conditions: Condition[],
  ) {
    const explain = (condition: Condition | undefined) =>
      condition
        ? `${condition.type}=${condition.status}${condition.reason ? ` ${condition.reason}` : ""}${condition.message ? `: ${condition.message}` : ""}`
        : null;
    const find = (type: string) => conditions.find((condition) => condition.type === type);
    let data: Prisma.ApplicationUpdateManyMutationInput;
    if (conditionIs(conditions, "Degraded", "True"))
      data = { state: "degraded", stateReason: explain(find("Degraded")) };
    else if (conditionIs(conditions, "Ready", "True"))
      data = { state: "deployed", stateReason: explain(find("Ready")), deployedAt: clock.now() };
    else if (conditionIs(conditions, "Ready", "False"))
      data = { state: "not_ready", stateReason: explain(find("Ready")) };
    else return;
    await tx.application.updateMany({
      where: { clusterId, namespace, name, state: { notIn: ["deleting", "deleted"] } },
      data,
    });
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
