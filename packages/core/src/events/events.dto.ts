import type { EventView, ResourceView } from "@vwksp/protocol";
import type { AgentEvent, ResourceStatus } from "../db.ts";

/** An agent event as the admin API lists it. */
export function toEventView(event: AgentEvent): EventView {
  return {
    id: String(event.id),
    eventKey: event.eventKey,
    kind: event.kind,
    resourceRef: event.resourceRef as EventView["resourceRef"],
    conditions: event.conditions as EventView["conditions"],
    timestamp: event.timestamp.toISOString(),
    receivedAt: event.receivedAt.toISOString(),
  };
}

/** An object's status projection, with whether it is Ready (as the event queries read it). */
export function toResourceView(
  row: ResourceStatus & { conditions: ResourceView["conditions"]; ready: boolean },
): ResourceView {
  return {
    apiVersion: row.apiVersion,
    kind: row.kind,
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    generation: row.generation,
    conditions: row.conditions,
    ready: row.ready,
    updatedAt: row.updatedAt.toISOString(),
  };
}
