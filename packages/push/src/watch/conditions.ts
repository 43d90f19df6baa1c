import {
  type AgentEvent,
  type Condition,
  Condition as ConditionSchema,
  type ObjectRef,
  Rfc3339,
} from "@vwksp/protocol";

export const CONDITION_TRANSITION = "ConditionTransition";
export const CLUSTER_HEARTBEAT = "ClusterHeartbeat";

type Json = Record<string, unknown>;
const record = (value: unknown): Json =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};

/**
 * The operator reporter's key (internal/agent/reporter.go ConditionEventKey):
 * `condition/{apiVersion}/{kind}/{ns|_}/{name}/{uid|_}/{type}/{status}@{generation}`.
 */
export function conditionEventKey(ref: ObjectRef, condition: Pick<Condition, "type" | "status">): string {
  const namespace = ref.namespace?.trim() || "_";
  const uid = ref.uid?.trim() || "_";
  return `condition/${ref.apiVersion}/${ref.kind}/${namespace}/${ref.name}/${uid}/${condition.type}/${condition.status}@${ref.generation ?? 0}`;
}

/** The reporter's changedConditions: a condition that is new, or whose status, reason or message moved. */
export function changedConditions(previous: readonly Condition[], next: readonly Condition[]): Condition[] {
  const before = new Map(previous.map((condition) => [condition.type, condition]));
  return next.filter((condition) => {
    const old = before.get(condition.type);
    return (
      !old ||
      old.status !== condition.status ||
      (old.reason ?? "") !== (condition.reason ?? "") ||
      (old.message ?? "") !== (condition.message ?? "")
    );
  });
}

/** status.conditions as metav1.Condition; an entry the protocol could not carry is left out. */
export function conditionsOf(object: Json): Condition[] {
  const conditions = record(object.status).conditions;
  if (!Array.isArray(conditions)) return [];
  return conditions.flatMap((condition) => {
    const parsed = ConditionSchema.safeParse(condition);
    return parsed.success ? [parsed.data] : [];
  });
}

/** The reporter's ResourceRefFromMeta: apiVersion and kind of the watched resource, the object's identity. */
export function refOf(object: Json, apiVersion: string, kind: string): ObjectRef {
  const metadata = record(object.metadata);
  const uid = typeof metadata.uid === "string" ? metadata.uid : undefined;
  const generation = typeof metadata.generation === "number" ? metadata.generation : undefined;
  return {
    apiVersion,
    kind,
    namespace: typeof metadata.namespace === "string" ? metadata.namespace : "",
    name: String(metadata.name ?? ""),
    ...(uid ? { uid } : {}),
    ...(generation !== undefined ? { generation } : {}),
  };
}

export const isRfc3339 = (value: unknown): value is string =>
  typeof value === "string" && Rfc3339.safeParse(value).success;

/**
 * One ConditionTransition, shaped as the operator posts it. Its timestamp is the condition's
 * lastTransitionTime, so seeing the same transition again (a relist, another worker taking the
 * cluster over) makes the same event, which the service takes as a replay; without one it is the
 * time the change was seen.
 */
export function transitionEvent(ref: ObjectRef, condition: Condition, observedAt: Date): AgentEvent {
  return {
    eventKey: conditionEventKey(ref, condition),
    kind: CONDITION_TRANSITION,
    resourceRef: ref,
    conditions: [condition],
    timestamp: isRfc3339(condition.lastTransitionTime)
      ? condition.lastTransitionTime
      : observedAt.toISOString(),
  };
}
