// bench/requests — CPU cost per request type of the control-plane API: the API, the worker,
// PostgreSQL and Redis, in CPU µs per request, for /healthz, an empty poll, an admin enqueue, a
// poll that claims jobs, an ack, a result and a batch of 1,000 condition events, each phase on
// its own. See bench/README.md.
import { performance } from "node:perf_hooks";
import { closeDb } from "../packages/core/src/index.ts";
import { jobBody } from "./support/enqueue.ts";
import { createBenchEnv } from "./support/env.ts";
import {
  BENCH_ADMIN_KEY,
  benchActor,
  createFixtureServices,
  createRegisteredClusters,
} from "./support/fixtures.ts";
import { createHttpClient, goAgentHeaders, type HttpResponse } from "./support/http.ts";
import { runBench } from "./support/lifecycle.ts";
import { freePort, startService, waitFor } from "./support/processes.ts";
import { cpuDelta, cpuTimes, settled } from "./support/procfs.ts";
import { format, infoRow, log, mapLimit, option, printTable, type Row, sleep } from "./support/stats.ts";

const REQUESTS = Number(option("requests", "3000"));
const CONCURRENCY = Number(option("concurrency", "16"));
const CLUSTERS = 16;
/** Quiet time before each phase, and after it (counted: the worker and PostgreSQL finish late). */
const SETTLE_MS = 1_500;
const DISPATCH_TIMEOUT_MS = 30_000;
const TIME_LIMIT_MS = 150_000;
const OK = new Set([200, 202, 204]);
/** Events per request of the events phase (the protocol's maximum). */
const EVENTS_PER_BATCH = 1000;

if (!Number.isInteger(REQUESTS) || REQUESTS < 10 || !Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  throw new Error("--requests must be an integer >= 10 and --concurrency an integer >= 1");
}

interface Agent {
  clusterId: string;
  token: string;
}

interface PhaseResult {
  name: string;
  requests: number;
  failures: Map<string, number>;
  /** CPU seconds over the phase and the trailing settle, by process group. */
  cpu: { api: number; worker: number; postgres: number; redis: number };
  /** Requests per second of the phase alone (without the settle). */
  rate: number;
}

/** "api 199 · worker 0 · postgres 114 · redis 0 µs/<unit>" for `count` units. */
function cpuPer(cpu: PhaseResult["cpu"], count: number, unit: string): string {
  // /proc counts in 10 ms ticks: at 3,000 requests one tick is 3.3 µs, so no decimals.
  const us = (seconds: number) => ((seconds * 1e6) / count).toFixed(0);
  return `api ${us(cpu.api)} · worker ${us(cpu.worker)} · postgres ${us(cpu.postgres)} · redis ${us(cpu.redis)} µs/${unit}`;
}

await runBench(TIME_LIMIT_MS, async (onCleanup) => {
  const env = await createBenchEnv("requests");
  onCleanup(() => env.close());
  log(`database ${env.database}, Redis prefix ${env.redisPrefix}`);

  const services = createFixtureServices(env.databaseUrl);
  onCleanup(() => closeDb(services.db));
  const actor = await benchActor(services);
  const agents: Agent[] = await createRegisteredClusters(services, actor, CLUSTERS);
  const agentOf = (index: number) => agents[index % agents.length] as Agent;

  const port = await freePort();
  const api = startService(
    "api",
    "apps/api/src/server.ts",
    env.env({
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      BOOTSTRAP_ADMIN_KEY: BENCH_ADMIN_KEY,
    }),
  );
  const worker = startService("worker", "apps/worker/src/main.ts", env.env({ LOG_LEVEL: "warn" }));
  // Cleanups run in reverse order: the client's sockets close, then the API and the worker stop.
  onCleanup(() => worker.stop());
  onCleanup(() => api.stop());
  const client = createHttpClient(`http://127.0.0.1:${port}`, CONCURRENCY);
  onCleanup(() => client.close());
  await waitFor(api, async () => {
    try {
      return (await client.request("GET", "/readyz", {})).status === 200;
    } catch {
      return false;
    }
  });
  // The worker logs nothing below warn: wait until it has finished starting (its CPU is quiet).
  await Promise.all([settled(api.pid), settled(worker.pid)]);
  log(`api pid ${api.pid} on 127.0.0.1:${port}, worker pid ${worker.pid}`);

  /**
   * Sends `count` requests (`CONCURRENCY` in flight) between two quiet periods and measures the
   * CPU used by the API, the worker, PostgreSQL and Redis over the phase and the trailing one.
   */
  async function phase(
    name: string,
    count: number,
    send: (index: number) => Promise<HttpResponse>,
  ): Promise<PhaseResult> {
    const failures = new Map<string, number>();
    const fail = (reason: string) => failures.set(reason, (failures.get(reason) ?? 0) + 1);
    await sleep(SETTLE_MS);
    const before = cpuTimes();
    const started = performance.now();
    await mapLimit(
      Array.from({ length: count }, (_, index) => index),
      CONCURRENCY,
      async (index) => {
        try {
          const response = await send(index);
          if (!OK.has(response.status)) fail(String(response.status));
        } catch (error) {
          fail(error instanceof Error ? error.message : String(error));
        }
      },
    );
    const seconds = (performance.now() - started) / 1000;
    await sleep(SETTLE_MS);
    const used = cpuDelta(before, cpuTimes(), { api: api.pid, worker: worker.pid });
    const cpu = {
      api: used.api ?? 0,
      worker: used.worker ?? 0,
      postgres: used.postgres ?? 0,
      redis: used.redis ?? 0,
    };
    const failed = [...failures.values()].reduce((sum, n) => sum + n, 0);
    log(
      `${name}: ${count} requests in ${format(seconds)} s, ${failed} failed; ${cpuPer(cpu, count, "request")}`,
    );
    return { name, requests: count, failures, cpu, rate: count / seconds };
  }

  const agentGet = (path: string, agent: Agent) =>
    client.request("GET", path, goAgentHeaders(agent.token, false));
  const poll = (agent: Agent) => agentGet(`/api/agent/jobs?cluster=${agent.clusterId}&wait=0`, agent);
  const admin = { authorization: `Bearer ${BENCH_ADMIN_KEY}`, "content-type": "application/json" };

  log(`warm-up: ${REQUESTS} × GET /healthz`);
  await phase("warm-up", REQUESTS, () => client.request("GET", "/healthz", {}));

  const results: PhaseResult[] = [];
  results.push(await phase("GET /healthz (no I/O)", REQUESTS, () => client.request("GET", "/healthz", {})));
  results.push(await phase("GET /api/agent/jobs wait=0, no jobs", REQUESTS, (index) => poll(agentOf(index))));
  results.push(
    await phase("POST /api/v1/clusters/{id}/jobs (admin enqueue)", REQUESTS, (index) =>
      client.request(
        "POST",
        `/api/v1/clusters/${agentOf(index).clusterId}/jobs`,
        admin,
        JSON.stringify(jobBody(`r-${index}`)),
      ),
    ),
  );

  // The worker moves the jobs from queued to ready; the claiming polls start once it is done.
  const dispatchStarted = performance.now();
  for (;;) {
    const queued = await services.db.job.count({ where: { state: "queued" } });
    if (queued === 0) break;
    if (performance.now() - dispatchStarted > DISPATCH_TIMEOUT_MS) {
      throw new Error(`${queued} jobs still queued ${DISPATCH_TIMEOUT_MS / 1000} s after the enqueues`);
    }
    await sleep(100);
  }
  log(
    `no job queued ${format(performance.now() - dispatchStarted)} ms after the enqueue phase and its settle`,
  );

  const delivered: { id: string; agent: Agent }[] = [];
  const polls = Math.floor(REQUESTS / 10);
  const claiming = await phase("GET /api/agent/jobs wait=0, claiming", polls, async (index) => {
    const agent = agentOf(index);
    const response = await poll(agent);
    if (response.status === 200) {
      const { jobs } = JSON.parse(response.body) as { jobs: { id: string }[] };
      for (const job of jobs) delivered.push({ id: job.id, agent });
    }
    return response;
  });
  results.push(claiming);
  if (delivered.length === 0) throw new Error("the claiming polls delivered no job");

  const deliveredJob = (index: number) => delivered[index] as (typeof delivered)[number];
  results.push(
    await phase("POST /api/agent/jobs/{id}/ack", delivered.length, (index) => {
      const { id, agent } = deliveredJob(index);
      return client.request("POST", `/api/agent/jobs/${id}/ack`, goAgentHeaders(agent.token, false));
    }),
  );
  results.push(
    await phase("POST /api/agent/jobs/{id}/result (succeeded)", delivered.length, (index) => {
      const { id, agent } = deliveredJob(index);
      return client.request(
        "POST",
        `/api/agent/jobs/${id}/result`,
        goAgentHeaders(agent.token, true),
        JSON.stringify({ outcome: "succeeded", timestamp: new Date().toISOString() }),
      );
    }),
  );

  // An operator's restart re-sends the conditions of everything it watches: batches of distinct
  // resources, each new to the status projection.
  const eventBatches = Math.max(4, Math.floor(REQUESTS / 150));
  const conditionBatch = (batch: number) => ({
    events: Array.from({ length: EVENTS_PER_BATCH }, (_, index) => {
      const name = `res-${batch}-${index}`;
      return {
        eventKey: `bench/${name}/Ready/True@1`,
        kind: "ConditionTransition",
        timestamp: new Date().toISOString(),
        resourceRef: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          namespace: "bench",
          name,
          uid: name,
          generation: 1,
        },
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "MinimumReplicasAvailable",
            message: "",
            lastTransitionTime: new Date().toISOString(),
            observedGeneration: 1,
          },
        ],
      };
    }),
  });
  const events = await phase(
    `POST /api/agent/events, ${EVENTS_PER_BATCH} new resources each`,
    eventBatches,
    (index) => {
      const agent = agentOf(index);
      return client.request(
        "POST",
        "/api/agent/events",
        goAgentHeaders(agent.token, true),
        JSON.stringify(conditionBatch(index)),
      );
    },
  );
  results.push(events);

  const rows: Row[] = [];
  for (const result of results) {
    rows.push(
      infoRow(
        `${result.name} × ${result.requests}`,
        `${cpuPer(result.cpu, result.requests, "request")} · ${result.rate.toFixed(0)} req/s`,
      ),
    );
    if (result === events) {
      rows.push(
        infoRow(
          `  per event (${result.requests * EVENTS_PER_BATCH} events)`,
          `${cpuPer(result.cpu, result.requests * EVENTS_PER_BATCH, "event")} · ${(result.rate * EVENTS_PER_BATCH).toFixed(0)} events/s`,
        ),
      );
    }
    if (result === claiming) {
      rows.push(
        infoRow(
          `  per delivered job (${delivered.length} delivered)`,
          cpuPer(result.cpu, delivered.length, "job"),
        ),
      );
    }
  }
  const failed = results
    .filter((result) => result.failures.size > 0)
    .map((result) => {
      const reasons = [...result.failures].map(([reason, n]) => `${reason} ×${n}`).join(", ");
      return `${result.name}: ${reasons}`;
    });
  rows.push(infoRow("failed requests (status not 200/202/204, or errors)", failed.join("; ") || "none"));

  printTable(
    `bench/requests — CPU per request, ${CONCURRENCY} in flight, API and worker as separate processes (CPU over each phase + ${SETTLE_MS / 1000} s after it)`,
    rows,
  );
});
