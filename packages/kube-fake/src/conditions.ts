import { isPlainObject, type Json } from "./types.ts";

/** A metav1.Condition as the operator writes it into status.conditions (a map keyed by type). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/**
 * status with one condition set like meta.SetStatusCondition: the entry of that type is replaced,
 * lastTransitionTime moves only when the status flips, observedGeneration defaults to the object's.
 */
export function withCondition(
  status: unknown,
  condition: Condition,
  generation: number | undefined,
  time: string,
) {
  const current: Json = isPlainObject(status) ? structuredClone(status) : {};
  const conditions = (Array.isArray(current.conditions) ? current.conditions : []) as Condition[];
  const previous = conditions.find((c) => c.type === condition.type);
  const next: Condition = {
    type: condition.type,
    status: condition.status,
    ...((condition.observedGeneration ?? generation)
      ? { observedGeneration: condition.observedGeneration ?? generation }
      : {}),
    lastTransitionTime:
      condition.lastTransitionTime ??
      (previous && previous.status === condition.status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : time),
    reason: condition.reason,
    message: condition.message ?? "",
  };
  current.conditions = previous
    ? conditions.map((c) => (c.type === condition.type ? next : c))
    : [...conditions, next];
  return current;
}
