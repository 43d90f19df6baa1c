import type { ApiDeps } from "../deps.ts";
import type { Exposition } from "./metrics.ts";

const CREDENTIAL_STATES = ["rotated", "revoked", "expired"] as const;

/** This process's counters of what agents send that the service could not use. */
export function renderAgentCounters(out: Exposition, deps: ApiDeps) {
  const refusals = deps.heartbeats.pollRefusalCounts();
  out.family(
    "vwksp_agent_poll_refusals_total",
    "counter",
    "Job polls refused for a known credential that no longer works, by its state (rotated away, revoked, expired).",
  );
  for (const state of CREDENTIAL_STATES)
    out.sample("vwksp_agent_poll_refusals_total", refusals.get(state) ?? 0, { credential_state: state });

  out.family(
    "vwksp_agent_events_unprojected_total",
    "counter",
    "Agent events stored but not projected onto a status, by reason (unknown kind, no conditions, generation beyond 32 bits).",
  );
  for (const [reason, count] of deps.events.skippedCounts())
    out.sample("vwksp_agent_events_unprojected_total", count, { reason });
}
