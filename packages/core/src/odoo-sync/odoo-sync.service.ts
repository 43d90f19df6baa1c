import type { JobsService } from "../jobs/jobs.service.ts";
import { createOdooOutbox } from "../outbox/outbox.ts";
import {
  type AppSyncContext,
  pullApplicationRecord,
  pullApplications,
  pushApplication,
  reconcileApplications,
} from "./applications-sync.ts";
import { createBridgeHealth } from "./bridge-health.ts";
import { type CatalogSyncContext, pushCatalog } from "./catalog-sync.ts";
import type { SyncContext } from "./context.ts";
import type { FieldMap } from "./field-map.ts";
import { createModelFields } from "./model-fields.ts";
import { applicationFieldsSource, catalogFieldsSource } from "./model-maps.ts";
import { type DrainContext, drainOutbox } from "./outbox-drain.ts";
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
  /** Deploy and delete requests from Odoo's application model take the admin API's path. */
  jobs: Pick<JobsService, "requestDeploy" | "requestDelete">;
  /** ODOO_APPLICATION_MODEL, ODOO_CATALOG_MODEL; ODOO_FIELD_MAP renames their fields with a prefix. */
  applicationModel?: string;
  catalogModel?: string;
  fieldMapJson?: string | undefined;
  /** ODOO_CHATTER. */
  chatter?: boolean;
}

/**
 * Keeps Odoo's Cluster Registry and this service's registry in step (docs/odoo-integration.md).
 * Push writes the runtime fields of one cluster (creating its record when it never had one);
 * pull applies the configuration of records changed since the cursor; the reconciliation compares
 * everything. Our own writes touch runtime fields only, so reading them back changes nothing.
 * The same for Workspace Hub's applications; the catalog is pushed; domain events come from the
 * outbox (application pushes, chatter messages).
 */
export function createOdooSyncService(deps: Deps) {
  const modelFields = createModelFields(deps);
  const ctx: SyncContext = { ...deps, modelFields, pageSize: deps.pageSize ?? 200 };
  const health = createBridgeHealth(deps);
  const appModel = deps.applicationModel ?? "vws.application.instance";
  const catalogModel = deps.catalogModel ?? "vws.catalog.entry";
  const appFields = applicationFieldsSource(deps.client, appModel, deps.fieldMapJson);
  const catalogFields = catalogFieldsSource(deps.client, catalogModel, deps.fieldMapJson);
  const appCtx: AppSyncContext = { ...ctx, jobs: deps.jobs, appModel, appFields };
  const catalogCtx: CatalogSyncContext = { ...ctx, catalogModel, catalogFields };
  const drainCtx: DrainContext = {
    ...appCtx,
    outbox: createOdooOutbox(deps),
    chatter: deps.chatter ?? true,
  };

  /** After a connection or protocol error the models' fields are asked for again. */
  function run<T>(work: () => Promise<T>): Promise<T> {
    return work().catch((error: unknown) => {
      modelFields.forgetAfter(error);
      appFields.forgetAfter(error);
      catalogFields.forgetAfter(error);
      throw error;
    });
  }

  return {
    clusterModel: deps.model,
    applicationModel: appModel,
    catalogModel,
    pushCluster: (clusterId: string) => run(() => pushCluster(ctx, clusterId)),
    pull: () => run(() => pull(ctx, deps.overlapSeconds)),
    pullRecord: (odooId: number) => run(() => pullRecord(ctx, odooId)),
    reconcile: () => run(() => reconcile(ctx)),
    pushApplication: (applicationId: string) => run(() => pushApplication(appCtx, applicationId)),
    pullApplications: () => run(() => pullApplications(appCtx, deps.overlapSeconds)),
    pullApplicationRecord: (odooId: number) => run(() => pullApplicationRecord(appCtx, odooId)),
    reconcileApplications: () => run(() => reconcileApplications(appCtx)),
    pushCatalog: () => run(() => pushCatalog(catalogCtx)),
    drainOutbox: () => run(() => drainOutbox(drainCtx)),
    recordError: health.recordError,
    noteSuccess: health.noteSuccess,
    /** The last error per model, for /api/v1/odoo/status (cleared by that model's next success). */
    async recordModelError(model: string, message: string) {
      const values = { lastError: message.slice(0, 4000), lastErrorAt: deps.clock.now() };
      await deps.db.odooCursor.upsert({ where: { model }, create: { model, ...values }, update: values });
    },
    async clearModelError(model: string) {
      await deps.db.odooCursor.updateMany({
        where: { model, lastError: { not: null } },
        data: { lastError: null, lastErrorAt: null },
      });
    },
  };
}

export type OdooSyncService = ReturnType<typeof createOdooSyncService>;
