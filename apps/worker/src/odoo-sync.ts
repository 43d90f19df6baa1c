import { createOdooSyncService, type OdooSyncService, parseFieldMap } from "@vwksp/core";
import { createOdooClient, isOdooError } from "@vwksp/odoo";
import { UnrecoverableError } from "bullmq";
import type { WorkerDeps } from "./deps.ts";
import type { ProcessorMap } from "./runtime.ts";

/** Exponential backoff from 2 s, capped at an hour: an Odoo outage is waited out, not dropped. */
export const odooBackoff = (attemptsMade: number, baseMs = 2_000) =>
  Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), 3_600_000);

export function createOdooSync(
  deps: Pick<WorkerDeps, "config" | "db" | "clock" | "clusters" | "audit" | "jobs">,
): OdooSyncService | undefined {
  const { config } = deps;
  if (!config.ODOO_URL || !config.ODOO_DB || !config.ODOO_LOGIN || !config.ODOO_API_KEY) return undefined;
  // One client for the worker's life: the protocol (and the uid on JSON-RPC) is learnt once per connection.
  const client = createOdooClient({
    url: config.ODOO_URL,
    db: config.ODOO_DB,
    login: config.ODOO_LOGIN,
    apiKey: config.ODOO_API_KEY,
    protocol: config.ODOO_PROTOCOL,
  });
  return createOdooSyncService({
    db: deps.db,
    clock: deps.clock,
    audit: deps.audit,
    clusters: deps.clusters,
    client,
    model: config.ODOO_CLUSTER_MODEL,
    fields: parseFieldMap(config.ODOO_FIELD_MAP, config.ODOO_ORGANIZATION_FIELD),
    overlapSeconds: config.ODOO_PULL_OVERLAP_SECONDS,
    jobs: deps.jobs,
    applicationModel: config.ODOO_APPLICATION_MODEL,
    catalogModel: config.ODOO_CATALOG_MODEL,
    fieldMapJson: config.ODOO_FIELD_MAP,
    chatter: config.ODOO_CHATTER,
  });
}

/** One reconciliation per recovery, however many jobs notice it. */
const RECOVERY_RECONCILE_JOB_ID = "odoo-reconcile-after-recovery";

/**
 * Retryable failures (network, 5xx, LockError) are thrown for BullMQ to retry with backoff; the
 * others (access, validation, a model that breaks the field contract, …) are recorded for
 * /api/v1/odoo/status and not retried; the reconciliation that follows the recovery redoes what
 * they stopped. A success after an access error starts that reconciliation.
 */
async function guarded<T>(
  deps: WorkerDeps,
  sync: OdooSyncService,
  what: string,
  work: () => Promise<T>,
  /** The model the job is about (its errors listed per model); undefined for the outbox drain. */
  model: string | undefined = sync.clusterModel,
): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    const kind = isOdooError(error) ? error.kind : ((error as { kind?: unknown }).kind ?? "internal");
    // An outage is the bridge's; a refusal on the application or catalog model is that model's
    // alone (an Odoo without Workspace Hub's models keeps its cluster sync, and a contract error
    // there must not make every later success look like a recovery that calls for reconciling).
    const bridgeWide =
      model === undefined ||
      model === sync.clusterModel ||
      (error as { retryable?: unknown }).retryable !== false;
    if (bridgeWide) await sync.recordError(message, String(kind)).catch(() => {});
    if (model !== undefined) await sync.recordModelError(model, message).catch(() => {});
    if ((error as { retryable?: unknown }).retryable === false) {
      deps.logger.error({ err: error }, `odoo sync gave up: ${what}`);
      throw new UnrecoverableError(message);
    }
    deps.logger.warn({ err: error }, `odoo sync will retry: ${what}`);
    throw error;
  }
  if (model !== undefined) await sync.clearModelError(model).catch(() => {});
  const recovered = await sync.noteSuccess().catch(() => false);
  if (recovered) {
    deps.logger.info("odoo bridge works again after an access error: reconciling");
    await deps.queues
      .enqueue("odoo-sync", "reconcile", {}, { jobId: RECOVERY_RECONCILE_JOB_ID, removeOnComplete: true })
      .catch((error: unknown) => deps.logger.warn({ err: error }, "could not enqueue the reconciliation"));
    await deps.queues
      .enqueue(
        "odoo-sync",
        "reconcile-applications",
        {},
        { jobId: `${RECOVERY_RECONCILE_JOB_ID}-applications`, removeOnComplete: true },
      )
      .catch((error: unknown) => deps.logger.warn({ err: error }, "could not enqueue the reconciliation"));
  }
  return result;
}

export function odooSyncProcessors(
  deps: WorkerDeps,
  sync: OdooSyncService,
): NonNullable<ProcessorMap["odoo-sync"]> {
  return {
    "push-cluster": async ({ clusterId }) => {
      return guarded(deps, sync, `push cluster ${clusterId}`, () => sync.pushCluster(clusterId));
    },
    pull: async () => guarded(deps, sync, "pull", () => sync.pull()),
    "pull-record": async ({ odooId }) => {
      return guarded(deps, sync, `pull record ${odooId}`, () => sync.pullRecord(odooId));
    },
    reconcile: async () => guarded(deps, sync, "reconcile", () => sync.reconcile()),
    "pull-applications": async () =>
      guarded(deps, sync, "pull applications", () => sync.pullApplications(), sync.applicationModel),
    "pull-application-record": async ({ odooId }) => {
      return guarded(
        deps,
        sync,
        `pull application record ${odooId}`,
        () => sync.pullApplicationRecord(odooId),
        sync.applicationModel,
      );
    },
    "reconcile-applications": async () =>
      guarded(
        deps,
        sync,
        "reconcile applications",
        async () => ({
          applications: await sync.reconcileApplications(),
          // The catalog is a convenience for Odoo's form: its refusal (no such model) stops nothing else.
          catalog: await sync.pushCatalog().catch(async (error: unknown) => {
            if ((error as { retryable?: unknown }).retryable !== false) throw error;
            const message = `push catalog: ${error instanceof Error ? error.message : String(error)}`;
            await sync.recordModelError(sync.catalogModel, message).catch(() => {});
            deps.logger.error({ err: error }, "odoo catalog push refused");
            return { error: message };
          }),
          outbox: await sync.drainOutbox(),
        }),
        sync.applicationModel,
      ),
    "push-catalog": async () =>
      guarded(deps, sync, "push catalog", () => sync.pushCatalog(), sync.catalogModel),
    "drain-outbox": async () => guarded(deps, sync, "drain outbox", () => sync.drainOutbox(), undefined),
  };
}
