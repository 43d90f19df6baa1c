import { createOdooSyncService, type OdooSyncService, parseFieldMap } from "@vwksp/core";
import { createOdooClient, isOdooError } from "@vwksp/odoo";
import { UnrecoverableError } from "bullmq";
import type { WorkerDeps } from "./deps.ts";
import type { Processor } from "./runtime.ts";

/** Exponential backoff from 2 s, capped at an hour: an Odoo outage is waited out, not dropped. */
export const odooBackoff = (attemptsMade: number, baseMs = 2_000) =>
  Math.min(baseMs * 2 ** Math.max(0, attemptsMade - 1), 3_600_000);

export function createOdooSync(
  deps: Pick<WorkerDeps, "config" | "db" | "clock" | "clusters">,
): OdooSyncService | undefined {
  const { config } = deps;
  if (!config.ODOO_URL || !config.ODOO_DB || !config.ODOO_LOGIN || !config.ODOO_API_KEY) return undefined;
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
    clusters: deps.clusters,
    client,
    model: config.ODOO_CLUSTER_MODEL,
    fields: parseFieldMap(config.ODOO_FIELD_MAP),
  });
}

/**
 * Retryable Odoo failures (network, 5xx, LockError) are thrown for BullMQ to retry with backoff;
 * the others (access, validation, unknown model, …) are recorded for /api/v1/odoo/status and
 * not retried. Either way the last error stays visible.
 */
async function guarded<T>(
  deps: WorkerDeps,
  sync: OdooSyncService,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    await sync.recordError(message).catch(() => {});
    if (isOdooError(error) && !error.retryable) {
      deps.logger.error({ err: error }, `odoo sync gave up: ${what}`);
      throw new UnrecoverableError(message);
    }
    deps.logger.warn({ err: error }, `odoo sync will retry: ${what}`);
    throw error;
  }
}

export function odooSyncProcessors(deps: WorkerDeps, sync: OdooSyncService): Record<string, Processor> {
  return {
    "push-cluster": async (payload) => {
      const { clusterId } = payload as { clusterId: string };
      return guarded(deps, sync, `push cluster ${clusterId}`, () => sync.pushCluster(clusterId));
    },
    pull: async () => {
      const result = await guarded(deps, sync, "pull", () => sync.pull());
      // A full page means more changed records are waiting: catch up at once.
      if (result.more)
        await deps.queues.enqueue("odoo-sync", "pull", {}, { jobId: `pull-catch-up-${Date.now()}` });
      return result;
    },
    "pull-record": async (payload) => {
      const { odooId } = payload as { odooId: number };
      return guarded(deps, sync, `pull record ${odooId}`, () => sync.pullRecord(odooId));
    },
  };
}
