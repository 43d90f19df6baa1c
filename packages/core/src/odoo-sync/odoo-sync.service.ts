import { createBridgeHealth } from "./bridge-health.ts";
import type { SyncContext } from "./context.ts";
import type { FieldMap } from "./field-map.ts";
import { createModelFields } from "./model-fields.ts";
import { pull, pullRecord } from "./pull.ts";
import { pushCluster } from "./push.ts";
import { reconcile } from "./reconcile.ts";

export { OdooContractError, SYNC_STATE_ID } from "./model-fields.ts";
export type { OdooClientLike } from "./odoo-client.ts";
export { OdooRecordRejected } from "./record-values.ts";

interface Deps extends Omit<SyncContext, "modelFields" | "pageSize"> {
  fields: FieldMap;
  /** How far before its cursor each pull reads again (ODOO_PULL_OVERLAP_SECONDS). */
  overlapSeconds: number;
  /** Records read per request. */
  pageSize?: number;
}

/**
 * Keeps Odoo's Cluster Registry and this service's registry in step (docs/odoo-integration.md).
 * Push writes the runtime fields of one cluster (creating its record when it never had one);
 * pull applies the configuration of records changed since the cursor; the reconciliation compares
 * everything. Our own writes touch runtime fields only, so reading them back changes nothing.
 */
export function createOdooSyncService(deps: Deps) {
  const modelFields = createModelFields(deps);
  const ctx: SyncContext = { ...deps, modelFields, pageSize: deps.pageSize ?? 200 };
  const health = createBridgeHealth(deps);

  /** After a connection or protocol error the model's fields are asked for again. */
  function run<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((error: unknown) => {
      modelFields.forgetAfter(error);
      throw error;
    });
  }

  return {
    pushCluster: (clusterId: string) => run(() => pushCluster(ctx, clusterId)),
    pull: () => run(() => pull(ctx, deps.overlapSeconds)),
    pullRecord: (odooId: number) => run(() => pullRecord(ctx, odooId)),
    reconcile: () => run(() => reconcile(ctx)),
    recordError: health.recordError,
    noteSuccess: health.noteSuccess,
  };
}

export type OdooSyncService = ReturnType<typeof createOdooSyncService>;
