import type { Condition } from "@vwksp/protocol";

export interface ProjectedStatus {
  uid: string | null;
  generation: number | null;
  conditions: Condition[];
}

const time = (condition: Condition | undefined) =>
  condition?.lastTransitionTime ? Date.parse(condition.lastTransitionTime) : Number.NaN;

const newest = (conditions: Condition[]) =>
  conditions.reduce((latest, condition) => {
    const at = time(condition);
    return Number.isNaN(at) ? latest : Math.max(latest, at);
  }, Number.NEGATIVE_INFINITY);

/**
 * Folds one event's conditions into a resource's projected status. An older event never
 * overwrites a newer one: a lower generation is ignored as a whole, and a condition whose
 * lastTransitionTime is older than the stored one of the same type is ignored. Another uid is
 * another object under the same name (deleted and created again, its generation starting over):
 * it replaces the stored one, unless its conditions are older than the stored ones (a late
 * event of the object that was deleted).
 */
export function mergeConditions(
  current: ProjectedStatus,
  incoming: { uid?: string | undefined; generation?: number | undefined; conditions: Condition[] },
): ProjectedStatus {
  if (incoming.uid && current.uid && incoming.uid !== current.uid) {
    if (newest(incoming.conditions) < newest(current.conditions)) return current;
    return mergeConditions({ uid: incoming.uid, generation: null, conditions: [] }, incoming);
  }
  if (
    incoming.generation !== undefined &&
    current.generation !== null &&
    incoming.generation < current.generation
  ) {
    return current;
  }
  const byType = new Map(current.conditions.map((condition) => [condition.type, condition]));
  for (const condition of incoming.conditions) {
    const existing = byType.get(condition.type);
    if (existing && time(condition) < time(existing)) continue;
    byType.set(condition.type, condition);
  }
  return {
    uid: incoming.uid || current.uid,
    generation:
      incoming.generation !== undefined
        ? Math.max(incoming.generation, current.generation ?? 0)
        : current.generation,
    conditions: [...byType.values()],
  };
}

/** Condition pairs that become durable audit entries. */
const HIGH_SIGNAL = new Set([
  "Succeeded/True",
  "Failed/True",
  "Running/True",
  "Cancelled/True",
  "Blocked/True",
  "Connected/True",
  "Disconnected/True",
]);

export const isHighSignal = (condition: Condition) =>
  HIGH_SIGNAL.has(`${condition.type}/${condition.status}`);

/** Event kinds that are audit entries by themselves. */
export const DIRECT_AUDIT_KINDS = new Set([
  "CredentialRotated",
  "OperationAccepted",
  "OperationBlocked",
  "OperationRunning",
  "OperationSucceeded",
  "OperationFailed",
]);
