import type { AddressInfo } from "node:net";
import { DEFAULT_FAKE_API_KEY, type FakeOdooOptions, startFakeOdoo } from "@vwksp/odoo-fake";
import type { Processor } from "../../apps/worker/src/runtime.ts";
import { adminHeaders } from "./agent.ts";
import { createLogCapture, createTestApp, createTestEnv } from "./app.ts";
import { adminKey } from "./fixtures.ts";
import { createTestWorker } from "./worker.ts";

export const MODEL = "vws.cluster";
export const WEBHOOK_SECRET = "webhook-secret-for-tests";

/** The two setups every bridge test runs against. */
export const ODOO_SETUPS = [
  { version: 17 as const, protocol: "jsonrpc" as const },
  { version: 19 as const, protocol: "json2" as const },
];

export interface BridgeOptions {
  version: 17 | 19;
  /** More fake options (a clock, another model). */
  fake?: Omit<FakeOdooOptions, "version">;
  config?: Record<string, string>;
}

/**
 * A fake Odoo, the real API (listening, so Odoo's webhooks reach it) and the real worker on the
 * test file's database and Redis prefix. The periodic jobs are not scheduled: tests run pull and
 * reconcile themselves, through the worker's own processors (errors recorded as in production).
 */
export async function startOdooBridge(options: BridgeOptions) {
  const fake = await startFakeOdoo({ version: options.version, ...options.fake });
  const env = await createTestEnv();
  const logs = createLogCapture();
  const config = {
    ODOO_URL: fake.url,
    ODOO_DB: fake.db,
    ODOO_LOGIN: "admin",
    ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
    ODOO_SYNC_INTERVAL_SECONDS: "3600",
    ODOO_RECONCILE_INTERVAL_SECONDS: "3600",
    ODOO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ODOO_WEBHOOK_REREAD_SECONDS: "1",
    ...options.config,
  };
  const harness = await createTestApp({ env, configOverrides: config, captureLogs: logs });
  const worker = createTestWorker({ env, configOverrides: config, captureLogs: logs, odooBackoffBaseMs: 50 });
  const key = await adminKey(harness);
  // Tests name the job and give its payload as the queue would; the runtime parses it the same way.
  const processors = (worker.processors["odoo-sync"] ?? {}) as Record<string, Processor | undefined>;
  const run = async (name: string, payload: unknown = {}) => {
    const processor = processors[name];
    if (!processor) throw new Error(`no odoo-sync processor ${name}`);
    return processor(payload, undefined as never);
  };
  let webhookBase: string | undefined;

  return {
    fake,
    env,
    harness,
    worker,
    key,
    logs,
    db: harness.deps.db,
    /** The Odoo record of a cluster, as Odoo shows it. */
    record: (clusterId: string) => fake.records(MODEL).find((row) => row.cluster_id === clusterId),
    pull: () => run("pull"),
    reconcile: () => run("reconcile"),
    pullRecord: (odooId: number) => run("pull-record", { odooId }),
    /** What the API shows at GET /api/v1/odoo/status. */
    status: async () =>
      (await harness.app.inject({ url: "/api/v1/odoo/status", headers: adminHeaders(key) })).json(),
    /** The webhook URL Odoo's automated action would call (the API starts listening for it). */
    webhookUrl: async () => {
      if (!webhookBase) {
        await harness.app.listen({ port: 0, host: "127.0.0.1" });
        webhookBase = `http://127.0.0.1:${(harness.app.server.address() as AddressInfo).port}`;
      }
      return `${webhookBase}/api/v1/odoo/webhook?secret=${WEBHOOK_SECRET}`;
    },
    /** The odoo-sync queue is idle: no push waiting, delayed or running. */
    idle: async () => {
      const counts = await worker.deps.queues
        .queue("odoo-sync")
        .getJobCounts("waiting", "delayed", "active", "prioritized");
      return Object.values(counts).every((count) => count === 0);
    },
    async close() {
      await worker.close();
      await harness.close();
      await env.close();
      await fake.close();
    },
  };
}

export type OdooBridge = Awaited<ReturnType<typeof startOdooBridge>>;
