import { type AgentEvent, HEARTBEAT_KIND, MAX_EVENTS_PER_REQUEST } from "@vwksp/protocol";
import type { ApplicationsService } from "../applications/applications.service.ts";
import type { AuditInput, AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { AgentPrincipal } from "../credentials/credentials.service.ts";
import type { Db } from "../db.ts";
import { badRequest, DomainError } from "../errors.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { isClusterResourceEvent, projectClusterResource } from "./cluster-resource.ts";
import { DIRECT_AUDIT_KINDS, isHighSignal } from "./conditions.ts";
import type { HeartbeatCoalescer } from "./heartbeats.ts";
import { projectResources } from "./resource-projection.ts";

const CONDITION_TRANSITION = "ConditionTransition";
/** ResourceStatus.generation is a PostgreSQL integer; Kubernetes' is 64 bits. */
const MAX_STORED_GENERATION = 2_147_483_647;

/** Why a stored event was not projected onto a status (counted, see skippedCounts). */
export type SkipReason = "no_conditions" | "generation_out_of_range" | "unprojected_kind";

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  heartbeats: HeartbeatCoalescer;
  notifier: ChangeNotifier;
  applications: ApplicationsService;
}

/**
 * One event per eventKey: the one with the newest timestamp (the first of equals). A key the
 * operator sends again with a newer timestamp is a new transition to a state it left (the key
 * holds type, status and generation, not the time): Connected=True after an outage.
 */
function latestPerKey(events: AgentEvent[]): AgentEvent[] {
  const chosen = new Map<string, number>();
  events.forEach((event, index) => {
    if (!event.eventKey) return;
    const earlier = chosen.get(event.eventKey);
    const earlierEvent = earlier === undefined ? undefined : events[earlier];
    if (!earlierEvent || Date.parse(event.timestamp) > Date.parse(earlierEvent.timestamp))
      chosen.set(event.eventKey, index);
  });
  return events.filter((event, index) => !event.eventKey || chosen.get(event.eventKey) === index);
}

/** Ingests agent events: de-duplicated storage, status projection, audit trail, heartbeats. */
export function createEventsService({ db, clock, audit, heartbeats, notifier, applications }: Deps) {
  const skipped = new Map<SkipReason, number>();
  const skip = (reason: SkipReason) => skipped.set(reason, (skipped.get(reason) ?? 0) + 1);

  /**
   * Only what no event of the batch may carry refuses the batch: the operator re-sends a refused
   * batch whole, forever, so one event the service cannot use must never hold up the others.
   */
  function checkBatch(events: AgentEvent[]) {
    if (events.length > MAX_EVENTS_PER_REQUEST) {
      throw new DomainError(413, "payload_too_large", `at most ${MAX_EVENTS_PER_REQUEST} events per request`);
    }
    events.forEach((event, index) => {
      // PostgreSQL text and jsonb cannot hold NUL; refuse the batch before anything is stored
      // (a heartbeat carrying one would otherwise poison the coalesced write of every cluster).
      if (JSON.stringify(event).includes("\\u0000")) {
        throw badRequest("invalid_request", `events[${index}] contains a NUL character`);
      }
    });
  }

  /** Sorts new events by what they feed; those that feed no status are counted. */
  function route(events: AgentEvent[]) {
    const clusterEvents: AgentEvent[] = [];
    const resourceEvents: AgentEvent[] = [];
    for (const event of events) {
      if (isClusterResourceEvent(event)) clusterEvents.push(event);
      else if (event.kind !== CONDITION_TRANSITION) {
        if (!DIRECT_AUDIT_KINDS.has(event.kind)) skip("unprojected_kind");
      } else if (!event.conditions?.length) skip("no_conditions");
      else if ((event.resourceRef.generation ?? 0) > MAX_STORED_GENERATION) skip("generation_out_of_range");
      else resourceEvents.push(event);
    }
    // Only transitions carry the CR's conditions; other kinds about it (CredentialRotated) name it.
    const clusterOnly = clusterEvents.map((event) =>
      event.kind === CONDITION_TRANSITION ? event : { ...event, conditions: [] },
    );
    return { clusterEvents: clusterOnly, resourceEvents };
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
    checkBatch(events);
    const stored: AgentEvent[] = [];
    for (const event of events) {
      // A heartbeat is about the credential's cluster, whatever its resourceRef names.
      if (event.kind === HEARTBEAT_KIND) {
        heartbeats.heartbeat(agent.clusterId, {
          conditions: event.conditions ?? undefined,
          versions: event.cluster,
        });
      } else stored.push(event);
    }
    if (stored.length === 0) return { stored: 0, duplicates: 0 };

    const unique = latestPerKey(stored);
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
    const { fresh, healthChanged, applicationsChanged } = await db.$transaction(async (tx) => {
      // A replay (same key, same timestamp) is a no-op; the same key with a newer timestamp is a
      // new transition and replaces the stored event. Only those are projected and audited.
      const written = await tx.$queryRaw<{ eventKey: string | null }[]>`
        INSERT INTO "AgentEvent" ("clusterId", "eventKey", kind, "resourceRef", "resourceKind", "resourceName", conditions, timestamp, "receivedAt")
        SELECT ${agent.clusterId}::uuid, x."eventKey", x.kind, x."resourceRef", x."resourceKind", x."resourceName", x.conditions,
               (x.timestamp AT TIME ZONE 'UTC'), ${now.toISOString()}::timestamp
        FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS x(idx int, "eventKey" text, kind text, "resourceRef" jsonb, "resourceKind" text, "resourceName" text, conditions jsonb, timestamp timestamptz)
        ORDER BY x.idx
        ON CONFLICT ("clusterId", "eventKey") DO UPDATE SET
          kind = EXCLUDED.kind, "resourceRef" = EXCLUDED."resourceRef", "resourceKind" = EXCLUDED."resourceKind",
          "resourceName" = EXCLUDED."resourceName", conditions = EXCLUDED.conditions,
          timestamp = EXCLUDED.timestamp, "receivedAt" = EXCLUDED."receivedAt"
        WHERE "AgentEvent".timestamp < EXCLUDED.timestamp
        RETURNING "eventKey"`;
      const writtenKeys = new Set(written.map((row) => row.eventKey));
      const fresh = unique.filter((event) => !event.eventKey || writtenKeys.has(event.eventKey));
      const { clusterEvents, resourceEvents } = route(fresh);
      const projected = await projectResources(tx, agent.clusterId, resourceEvents, now);
      const applicationsChanged = await applications.resourcesObserved(tx, agent.clusterId, projected);
      const cluster = await projectClusterResource(tx, agent.clusterId, clusterEvents);
      await audit.recordMany(auditEntries(agent, fresh), tx);
      return { fresh, healthChanged: cluster.conditionsChanged, applicationsChanged };
    });
    if (healthChanged) await notifier.clusterChanged(agent.clusterId);
    if (applicationsChanged > 0) await notifier.outboxWritten();
    return { stored: fresh.length, duplicates: stored.length - fresh.length };
  }

  return { ingest, skippedCounts: () => new Map(skipped) };
}

export type EventsService = ReturnType<typeof createEventsService>;
