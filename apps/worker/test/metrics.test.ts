import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../packages/core/src/index.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";
import { createWorkerDeps } from "../src/deps.ts";
import { startMetricsServer } from "../src/metrics/metrics-server.ts";
import { QUEUE_STATES } from "../src/metrics/worker-metrics.ts";
import { processorsFor } from "../src/processors.ts";

// The worker's internal listener, over real HTTP on an ephemeral port: queue depth and age read
// from Redis, what this worker ran, what the sweep closed, and the Odoo sync state's timestamps.

const ODOO = { ODOO_URL: "http://127.0.0.1:1", ODOO_DB: "d", ODOO_LOGIN: "l", ODOO_API_KEY: "k" };
const logger = createLogger("silent", "worker");

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

/** Sample values by `name{label="value",…}` as the exposition writes them. */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    const match = /^([^#\s][^ ]*) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

/** A worker's deps and metrics listener, its clock `offsetMs` ahead; closed after the test. */
async function serve(offsetMs: number, overrides: Record<string, string> = {}) {
  const deps = createWorkerDeps(env.config(overrides), logger, {
    clock: { now: () => new Date(Date.now() + offsetMs) },
  });
  const server = await startMetricsServer({ metrics: deps.metrics, logger, port: 0, host: "127.0.0.1" });
  return {
    deps,
    port: server.port,
    async close() {
      await server.close();
      await deps.close();
    },
  };
}

describe("worker metrics", () => {
  it("shows each queue's depth and the age of its oldest waiting job", async () => {
    const { cluster } = await registeredCluster(harness, key);
    await rawJob(harness, key, cluster.id, "waits-in-dispatch");
    const worker = await serve(30_000);
    try {
      const samples = await scrape(worker.port);
      expect(samples.get('vwksp_queue_jobs{queue="dispatch",state="wait"}')).toBeGreaterThanOrEqual(1);
      for (const queue of ["dispatch", "odoo-sync", "maintenance"])
        for (const state of QUEUE_STATES)
          expect(samples.has(`vwksp_queue_jobs{queue="${queue}",state="${state}"}`)).toBe(true);
      // Created just now, seen by a clock 30 s ahead.
      const age = samples.get('vwksp_queue_oldest_waiting_seconds{queue="dispatch"}') ?? 0;
      expect(age).toBeGreaterThanOrEqual(29);
      expect(age).toBeLessThan(60);
      expect(samples.get('vwksp_queue_oldest_waiting_seconds{queue="maintenance"}')).toBe(0);
      expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
      // Without ODOO_URL there is no Odoo sync to report on.
      expect([...samples.keys()].some((name) => name.startsWith("vwksp_odoo_"))).toBe(false);
      expect((await fetch(`http://127.0.0.1:${worker.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${worker.port}/queues`)).status).toBe(404);
    } finally {
      await worker.close();
    }
  });

  it("counts the jobs it ran by queue, name and outcome, and the jobs a sweep closed", async () => {
    const running = createTestWorker({ env });
    const server = await startMetricsServer({
      metrics: running.deps.metrics,
      logger,
      port: 0,
      host: "127.0.0.1",
    });
    try {
      await running.deps.queues.enqueue("maintenance", "check-heartbeats", {});
      const completed =
        'vwksp_worker_jobs_total{queue="maintenance",name="check-heartbeats",outcome="completed"}';
      const samples = await eventually(async () => {
        const seen = await scrape(server.port);
        return (seen.get(completed) ?? 0) >= 1 ? seen : undefined;
      });
      expect(
        samples.get('vwksp_worker_job_duration_seconds_count{queue="maintenance"}'),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      await server.close();
      await running.close();
    }

    // Past every job's expiry (900 s by default): the sweep expires what is still undelivered.
    const { cluster } = await registeredCluster(harness, key);
    await rawJob(harness, key, cluster.id, "expires-unseen");
    const late = await serve(1_000_000);
    try {
      const sweep = processorsFor(late.deps).maintenance?.["sweep-jobs"];
      const swept = (await sweep?.({}, undefined as never)) as { expired: number; undeliverable: number };
      expect(swept.expired).toBeGreaterThanOrEqual(1);
      const samples = await scrape(late.port);
      expect(samples.get('vwksp_jobs_finished_total{outcome="expired"}')).toBe(swept.expired);
      expect(samples.get('vwksp_jobs_finished_total{outcome="undeliverable"}')).toBe(swept.undeliverable);
    } finally {
      await late.close();
    }
  });

  it("reports what the Odoo sync state records: last pull, last push, the failure", async () => {
    const pulled = new Date("2026-11-27T09:00:00Z");
    await harness.deps.db.odooSyncState.upsert({
      where: { id: "default" },
      create: { id: "default", lastError: "pull: odoo down", lastErrorAt: pulled },
      update: { lastError: "pull: odoo down", lastErrorAt: pulled },
    });
    // Two models pulled at different times: the gauge shows the one pulled least recently.
    await harness.deps.db.odooCursor.createMany({
      data: [
        { model: "vws.cluster", lastPullAt: new Date(pulled.getTime() + 60_000) },
        { model: "vws.other", lastPullAt: pulled },
      ],
    });
    const worker = await serve(0, ODOO);
    try {
      const samples = await scrape(worker.port);
      expect(samples.get("vwksp_odoo_sync_last_pull_timestamp_seconds")).toBe(pulled.getTime() / 1000);
      expect(samples.get("vwksp_odoo_sync_last_push_timestamp_seconds")).toBe(0);
      expect(samples.get("vwksp_odoo_sync_last_error_timestamp_seconds")).toBe(pulled.getTime() / 1000);
      expect(samples.get("vwksp_odoo_sync_failing")).toBe(1);
    } finally {
      await worker.close();
    }
  });
});
