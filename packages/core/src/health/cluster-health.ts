import type { ClusterResourceRef, Condition } from "@vwksp/protocol";
import { clusterResourceOf } from "../events/cluster-resource.ts";

/** The condition this service derives itself about the job channel (see job-channel.ts). */
export const JOB_CHANNEL_HEALTHY = "JobChannelHealthy";
/** GitOps mode: whether the worker can push the cluster's jobs to its Git repository. */
export const GIT_REPOSITORY_HEALTHY = "GitRepositoryHealthy";

type Severity = "error" | "warning";

/**
 * Conditions whose meaning we know: which status is the abnormal one and how bad it is. The
 * operator's Cluster reconciler uses both polarities (Connected=False and Disconnected=True say
 * the same thing), so the polarity has to be known per type.
 */
const KNOWN: Record<string, { abnormal: Condition["status"]; severity: Severity }> = {
  Connected: { abnormal: "False", severity: "error" },
  Disconnected: { abnormal: "True", severity: "error" },
  Authenticated: { abnormal: "False", severity: "error" },
  [JOB_CHANNEL_HEALTHY]: { abnormal: "False", severity: "error" },
  [GIT_REPOSITORY_HEALTHY]: { abnormal: "False", severity: "error" },
  ControllerMissing: { abnormal: "True", severity: "error" },
  ControllersHealthy: { abnormal: "False", severity: "warning" },
  ControllerDegraded: { abnormal: "True", severity: "warning" },
  BufferOverflow: { abnormal: "True", severity: "warning" },
  Ready: { abnormal: "False", severity: "error" },
  Degraded: { abnormal: "True", severity: "warning" },
};

/**
 * Types we do not know are read by their name: Kubernetes' "abnormal-true" conditions are named
 * after the problem (MemoryPressure, NetworkUnavailable, …). Any other unknown type is shown but
 * never counted as a problem, since its polarity cannot be told.
 */
const PROBLEM_NAME = /(Missing|Degraded|Overflow|Failed|Failure|Error|Pressure|Unavailable|Blocked)$/;

function severityOf(condition: Condition): Severity | undefined {
  const known = KNOWN[condition.type];
  if (known) return condition.status === known.abnormal ? known.severity : undefined;
  return condition.status === "True" && PROBLEM_NAME.test(condition.type) ? "warning" : undefined;
}

const timeOf = (condition: Condition) =>
  condition.lastTransitionTime ? Date.parse(condition.lastTransitionTime) : Number.NEGATIVE_INFINITY;

/** Several sources' conditions as one list, one per type: the newest transition wins. */
export function mergeByType(...sources: (Condition[] | null | undefined)[]): Condition[] {
  const byType = new Map<string, Condition>();
  for (const source of sources) {
    for (const condition of source ?? []) {
      const existing = byType.get(condition.type);
      if (!existing || timeOf(condition) >= timeOf(existing)) byType.set(condition.type, condition);
    }
  }
  return [...byType.values()];
}

/** The worst abnormal condition: errors before warnings, then the most recent. */
export function worstCondition(conditions: Condition[]): Condition | undefined {
  const rank = (severity: Severity) => (severity === "error" ? 2 : 1);
  let worst: { condition: Condition; rank: number } | undefined;
  for (const condition of conditions) {
    const severity = severityOf(condition);
    if (!severity) continue;
    const candidate = { condition, rank: rank(severity) };
    if (
      !worst ||
      candidate.rank > worst.rank ||
      (candidate.rank === worst.rank && timeOf(condition) > timeOf(worst.condition))
    ) {
      worst = candidate;
    }
  }
  return worst?.condition;
}

/** One line for people (the cluster view, Odoo's health_message), e.g. `ControllerMissing=True (VeleroMissing): …`. */
export function describeCondition(condition: Condition): string {
  const reason = condition.reason ? ` (${condition.reason})` : "";
  const message = condition.message ? `: ${condition.message}` : "";
  const since = condition.lastTransitionTime ? ` [since ${condition.lastTransitionTime}]` : "";
  return `${condition.type}=${condition.status}${reason}${message}${since}`;
}

/** The worst current condition as text, with how many other problems there are; null when none. */
export function healthMessage(conditions: Condition[]): string | null {
  const worst = worstCondition(conditions);
  if (!worst) return null;
  const others = conditions.filter((condition) => condition !== worst && severityOf(condition)).length;
  const more = others > 0 ? ` (+${others} more problem${others === 1 ? "" : "s"})` : "";
  return `${describeCondition(worst)}${more}`;
}

/** What a cluster row holds about its health (every writer has a column of its own). */
export interface ClusterHealthColumns {
  /** A heartbeat's condition snapshot (an extension; the Go operator sends none). */
  conditions: unknown;
  /** The operator's Cluster CR and its conditions, from events. */
  clusterResource: unknown;
  /** This service's JobChannelHealthy condition. */
  jobChannel: unknown;
  /** GitOps mode: this service's GitRepositoryHealthy condition. */
  gitRepository?: unknown;
}

/** The cluster's conditions, one per type, and the worst of them in words. */
export function clusterHealthOf(row: ClusterHealthColumns) {
  const resource = clusterResourceOf(row.clusterResource);
  const snapshot = Array.isArray(row.conditions) ? (row.conditions as Condition[]) : [];
  const jobChannel = row.jobChannel ? [row.jobChannel as Condition] : [];
  const gitRepository = row.gitRepository ? [row.gitRepository as Condition] : [];
  const conditions = mergeByType(snapshot, resource?.conditions, jobChannel, gitRepository);
  const clusterResource: ClusterResourceRef | null = resource
    ? {
        apiVersion: resource.apiVersion,
        namespace: resource.namespace,
        name: resource.name,
        uid: resource.uid,
        generation: resource.generation,
      }
    : null;
  return { conditions, healthMessage: healthMessage(conditions), clusterResource };
}
