import type { ApplicationState, ApplicationView } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import type { Application } from "../db.ts";

/** An application requested on a cluster, and where it is (docs/application-states.md). */
export function toApplicationView(row: Application): ApplicationView {
  return {
    namespace: row.namespace,
    name: row.name,
    catalogId: row.catalogId,
    generation: row.generation,
    state: row.state as ApplicationState,
    stateReason: row.stateReason,
    lastJobId: row.lastJobId,
    deployedAt: isoOrNull(row.deployedAt),
    deletedAt: isoOrNull(row.deletedAt),
    updatedAt: row.updatedAt.toISOString(),
  };
}
