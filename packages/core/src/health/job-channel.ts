import type { Condition } from "@vwksp/protocol";
import type { RefusedCredentialState } from "../credentials/credentials.service.ts";
import type { PollAuthFailures } from "../events/heartbeats.ts";
import { JOB_CHANNEL_HEALTHY } from "./cluster-health.ts";

/** What is known about a cluster's job channel (its polls), from its row and its waiting jobs. */
export interface JobChannelFacts {
  status: string;
  registeredAt: Date | null;
  lastPollAt: Date | null;
  pollAuthFailures: PollAuthFailures | null;
  /** When the oldest job still waiting for a poll became ready. */
  oldestReadyAt: Date | null;
}

const REFUSAL_REASONS: Record<RefusedCredentialState, { reason: string; why: string }> = {
  rotated: {
    reason: "PollingWithRotatedCredential",
    why: "a credential rotated away whose grace period has ended. The operator's poller keeps the token it started with after a rotation (its heartbeats use the new one): restart the operator so it polls with the current credential",
  },
  revoked: {
    reason: "PollingWithRevokedCredential",
    why: "a revoked credential. If the cluster registered again since, its operator's poller still holds the old token (it keeps the one it started with): restart the operator. Otherwise register the cluster again with a new registration token, then restart the operator",
  },
  expired: {
    reason: "PollingWithExpiredCredential",
    why: "an expired credential (CREDENTIAL_TTL_SECONDS). Rotate it before it expires, or register the cluster again",
  },
};

/** The latest refusal since the last authenticated poll, if the polls are refused at all. */
function latestRefusal(facts: JobChannelFacts) {
  let latest: { state: RefusedCredentialState; count: number; lastAt: string } | undefined;
  for (const [state, refusal] of Object.entries(facts.pollAuthFailures ?? {})) {
    if (!refusal) continue;
    const after = !facts.lastPollAt || Date.parse(refusal.lastAt) > facts.lastPollAt.getTime();
    if (after && (!latest || refusal.lastAt > latest.lastAt))
      latest = { state: state as RefusedCredentialState, ...refusal };
  }
  return latest;
}

function verdict(
  facts: JobChannelFacts,
  now: Date,
  staleAfterSeconds: number,
): Omit<Condition, "type"> | undefined {
  if (facts.status !== "connected") {
    return {
      status: "Unknown",
      reason: "ClusterNotConnected",
      message: `the cluster is ${facts.status}; its job channel is judged while heartbeats arrive`,
    };
  }
  const staleMs = staleAfterSeconds * 1000;
  const since = facts.lastPollAt ?? facts.registeredAt;
  const silentMs = since ? now.getTime() - since.getTime() : Number.POSITIVE_INFINITY;
  // No durations or counts in the messages: the condition is written (and pushed) when it changes.
  const lastPoll = facts.lastPollAt
    ? `since ${facts.lastPollAt.toISOString()}`
    : `since registration${facts.registeredAt ? ` at ${facts.registeredAt.toISOString()}` : ""}`;
  if (silentMs > staleMs) {
    const refusal = latestRefusal(facts);
    if (refusal) {
      const { reason, why } = REFUSAL_REASONS[refusal.state];
      return {
        status: "False",
        reason,
        message: `heartbeats arrive but no job poll succeeded ${lastPoll}: the polls are refused, they carry ${why}`,
      };
    }
    return {
      status: "False",
      reason: "NoRecentPoll",
      message: `heartbeats arrive but no job poll succeeded ${lastPoll}, longer than ${staleAfterSeconds} s: jobs cannot be delivered. Check that the operator's poller runs and what its log says`,
    };
  }
  if (facts.oldestReadyAt && now.getTime() - facts.oldestReadyAt.getTime() > staleMs) {
    return {
      status: "False",
      reason: "JobsUndelivered",
      message: `jobs waiting since ${facts.oldestReadyAt.toISOString()} were not delivered although polls arrive; the agent may not keep up with its backlog`,
    };
  }
  if (!facts.lastPollAt) {
    return {
      status: "Unknown",
      reason: "NoPollYet",
      message: `no job poll ${lastPoll}; judged after ${staleAfterSeconds} s`,
    };
  }
  return {
    status: "True",
    reason: "PollsSucceeding",
    message: `job polls succeed (a silence of more than ${staleAfterSeconds} s is reported)`,
  };
}

/**
 * The JobChannelHealthy condition: False when heartbeats arrive but no poll succeeded for longer
 * than `staleAfterSeconds` (NoRecentPoll, or PollingWith…Credential when the polls are refused
 * for a credential that no longer works), or when jobs wait undelivered that long. The same
 * verdict keeps its lastTransitionTime. Undefined when there is nothing to say (a cluster never
 * judged that is not connected).
 */
export function jobChannelCondition(
  facts: JobChannelFacts,
  previous: Condition | null,
  now: Date,
  staleAfterSeconds: number,
): Condition | undefined {
  const next = verdict(facts, now, staleAfterSeconds);
  if (!next || (!previous && next.status === "Unknown" && next.reason === "ClusterNotConnected"))
    return undefined;
  const unchanged = previous?.status === next.status && previous.reason === next.reason;
  return {
    type: JOB_CHANNEL_HEALTHY,
    ...next,
    lastTransitionTime:
      unchanged && previous?.lastTransitionTime ? previous.lastTransitionTime : now.toISOString(),
  };
}
