// bench/dispatch — 1,000 simulated operators long-polling over real HTTP against the API and
// worker running as their own processes: enqueue→received latency at a steady rate, full
// lifecycle throughput of a burst, and the Redis connections with 10 and with 1,000 waiting
// agents. See bench/README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { closeDb } from "../packages/core/src/index.ts";
import { type AgentIdentity, createAgentFleet, type Tracked } from "./support/agents.ts";
import { type ConnectionCounts, countConnections, describeCounts } from "./support/connections.ts";
import { createEnqueuer, type EnqueueMode } from "./support/enqueue.ts";
import { createBenchEnv } from "./support/env.ts";
import {
  BENCH_ADMIN_KEY,
  benchActor,
  createFixtureServices,
  createRegisteredClusters,
} from "./support/fixtures.ts";
import { createHttpClient } from "./support/http.ts";
import { runBench } from "./support/lifecycle.ts";
import { freePort, startService, waitFor } from "./support/processes.ts";
import { cpuDelta, cpuTimes, settled } from "./support/procfs.ts";
import {
  format,
  goalRow,
  infoRow,
  log,
  option,
  percentile,
  printTable,
  type Row,
  sleep,
} from "./support/stats.ts";

const AGENTS = Number(option("agents", "1000"));
const RATE = Number(option("rate", "100"));
const SECONDS = Number(option("seconds", "20"));
const WARMUP_SECONDS = 5;
const BURST = Number(option("burst", "5000"));
const BURST_CONCURRENCY = Number(option("burst-concurrency", "32"));
const BURST_TIMEOUT_MS = 50_000;
const ENQUEUE_MODE = option("enqueue", "http") as EnqueueMode;
const API_LOG_LEVEL = option("api-log-level", "warn");
const PROFILE_DIR = option("profile", "");
const DUMP_FILE = option("dump", "");
const KEEP = process.argv.includes("--keep");
/** What-if: run the API with a Prisma pool of this size (bench/support/api-what-if.ts). */
const API_POOL = option("api-pool", "");
const TIME_LIMIT_MS = 150_000;

const tracked = new Map<string, Tracked>();

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
const pct = (samples: number[]) =>
  `${format(percentile(samples, 50))} / ${format(percentile(samples, 99))} / ${format(Math.max(...samples))} ms`;

/** Tracks of the jobs whose name starts with `prefix`. */
const tracksOf = (prefix: string) =>
  [...tracked].filter(([name]) => name.startsWith(prefix)).map(([, t]) => t);

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Times GET /healthz (no auth, no I/O) every 50 ms: its latency is mostly the time the request
 * waits for the API's event loop, so it shows how busy that loop is.
 */
function startLoopProbe(base: string) {
  const client = createHttpClient(base, 1);
  const samples: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      try {
        await client.request("GET", "/healthz", {});
        samples.push(performance.now() - started);
      } catch {
        // The API is going away.
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      client.close();
      return samples;
    },
  };
}

/** Per-stage latencies (p50 / p99) from the timestamps the service wrote on each job row. */
async function stageBreakdown(databaseUrl: string, prefix: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, number | null>>(
      `WITH j AS (
         SELECT EXTRACT(EPOCH FROM ("readyAt" - "createdAt")) * 1000 AS dispatch,
                EXTRACT(EPOCH FROM ("deliveredAt" - "readyAt")) * 1000 AS wake,
                EXTRACT(EPOCH FROM ("ackedAt" - "deliveredAt")) * 1000 AS ack,
                EXTRACT(EPOCH FROM ("finishedAt" - "ackedAt")) * 1000 AS result
         FROM "Job" WHERE payload->'metadata'->>'name' LIKE $1 AND state = 'succeeded')
       SELECT
         percentile_cont(0.5) WITHIN GROUP (ORDER BY dispatch) AS dispatch50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY dispatch) AS dispatch99,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY wake) AS wake50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY wake) AS wake99,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY ack) AS ack50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY ack) AS ack99,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY result) AS result50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY result) AS result99
       FROM j`,
      [`${prefix}%`],
    );
    const row = rows[0] ?? {};
    const stage = (label: string, key: string) =>
      infoRow(
        `  ${label} p50 / p99`,
        `${format(Number(row[`${key}50`] ?? Number.NaN))} / ${format(Number(row[`${key}99`] ?? Number.NaN))} ms`,
      );
    return [
      stage("queued→ready (BullMQ + dispatch worker)", "dispatch"),
      stage("ready→leased (wake-up + claim)", "wake"),
      stage("leased→acked", "ack"),
      stage("acked→result", "result"),
    ];
  } finally {
    await client.end();
  }
}

/**
 * Waits until every tracked job is finished, or until none finished for `idleMs` (jobs leased
 * to a poll that never answered with them wait out their lease, longer than a bench runs), or
 * until `timeoutMs`. Returns how many are unfinished and why the wait ended.
 */
async function drained(
  tracks: Tracked[],
  idleMs: number,
  timeoutMs: number,
  onProgress: () => void,
): Promise<{ unfinished: number; ended: string }> {
  const started = Date.now();
  let finished = -1;
  let lastProgress = Date.now();
  for (;;) {
    const now = tracks.filter((track) => track.finished !== undefined).length;
    if (now !== finished) {
      finished = now;
      lastProgress = Date.now();
      onProgress();
    }
    const unfinished = tracks.length - now;
    if (unfinished === 0) return { unfinished, ended: "all finished" };
    if (Date.now() - lastProgress > idleMs)
      return { unfinished, ended: `none finished for ${idleMs / 1000} s` };
    if (Date.now() - started > timeoutMs) return { unfinished, ended: "time limit" };
    await sleep(50);
  }
}

/**
 * CPU time per process over a phase that ends at the last sign of progress (so the wait for
 * stragglers does not dilute the figures).
 */
function cpuMeter(named: Record<string, number>) {
  const first = { at: performance.now(), times: cpuTimes() };
  let last = first;
  return {
    progress() {
      if (performance.now() - last.at >= 500) last = { at: performance.now(), times: cpuTimes() };
    },
    result() {
      return { used: cpuDelta(first.times, last.times, named), seconds: (last.at - first.at) / 1000 };
    },
  };
}

/** The states, in the database, of the jobs no agent finished, e.g. "3 (leased 3)". */
async function unfinishedStates(databaseUrl: string, tracks: [string, Tracked][]): Promise<string> {
  const names = tracks.filter(([, track]) => track.finished === undefined).map(([name]) => name);
  if (names.length === 0) return "none";
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string; count: number }>(
      `SELECT state::text AS state, count(*)::int AS count FROM "Job"
       WHERE payload->'metadata'->>'name' = ANY($1::text[]) GROUP BY state ORDER BY state`,
      [names],
    );
    return `${names.length} (${rows.map((row) => `${row.state} ${row.count}`).join(", ")})`;
  } finally {
    await client.end();
  }
}

/** CPU use per process group over a phase, as % of one core and as CPU ms per job. */
const cpuShare = (used: Record<string, number>, seconds: number, jobs: number) =>
  Object.entries(used)
    .filter(([, cpu]) => cpu / seconds >= 0.02)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 7)
    .map(([name, cpu]) => `${name} ${format((cpu / seconds) * 100)}% ${format((cpu * 1000) / jobs)}`)
    .join(", ");

await runBench(TIME_LIMIT_MS, async (onCleanup) => {
  const env = await createBenchEnv("dispatch");
  onCleanup(() =>
    KEEP ? log(`kept database ${env.database} and Redis prefix ${env.redisPrefix}`) : env.close(),
  );
  log(`database ${env.database}, Redis prefix ${env.redisPrefix}, enqueue via ${ENQUEUE_MODE}`);

  const services = createFixtureServices(env.databaseUrl);
  onCleanup(() => closeDb(services.db));
  const actor = await benchActor(services);
  let started = performance.now();
  const agents: AgentIdentity[] = await createRegisteredClusters(services, actor, AGENTS);
  log(`${AGENTS} clusters with credentials in ${format(performance.now() - started)} ms`);

  const port = await freePort();
  const profileFlags = PROFILE_DIR ? [`--cpu-prof`, `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const api = startService(
    "api",
    API_POOL ? "bench/support/api-what-if.ts" : "apps/api/src/server.ts",
    env.env({
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: API_LOG_LEVEL,
      BOOTSTRAP_ADMIN_KEY: BENCH_ADMIN_KEY,
    }),
    profileFlags,
    undefined,
    API_POOL ? [`--pool=${API_POOL}`] : [],
  );
  const worker = startService(
    "worker",
    "apps/worker/src/main.ts",
    env.env({ LOG_LEVEL: "info" }),
    profileFlags,
  );
  // Cleanups run in reverse order: the agents stop and their sockets close, then the API and the
  // worker get SIGTERM and close gracefully.
  onCleanup(() => worker.stop());
  onCleanup(() => api.stop());
  const base = `http://127.0.0.1:${port}`;
  const readiness = createHttpClient(base, 1);
  await waitFor(api, async () => {
    try {
      return (await readiness.request("GET", "/readyz", {})).status === 200;
    } catch {
      return false;
    }
  });
  readiness.close();
  await waitFor(worker, () => worker.text().includes("worker started"));
  const pids = { api: api.pid, worker: worker.pid };
  log(`api pid ${api.pid} on ${base}, worker pid ${worker.pid}`);

  const agentClient = createHttpClient(base, AGENTS + 16);
  const adminClient = createHttpClient(base, Math.max(BURST_CONCURRENCY, 64));
  onCleanup(() => {
    agentClient.close();
    adminClient.close();
  });
  const fleet = createAgentFleet(agentClient, tracked);
  onCleanup(() => fleet.stop(1));
  const enqueuer = createEnqueuer({
    mode: ENQUEUE_MODE,
    client: adminClient,
    config: env.config(),
    actor,
    tracked,
  });
  onCleanup(() => enqueuer.close());

  // Connections with 10, then with all agents waiting.
  const few = Math.min(10, AGENTS);
  fleet.start(agents.slice(0, few));
  await until(() => fleet.pollsInFlight() === few, 10_000);
  await settled(api.pid);
  const withFew = await countConnections(pids, env.database, { pid: api.pid, port });
  started = performance.now();
  fleet.start(agents.slice(few));
  await until(() => fleet.pollsInFlight() === AGENTS, 30_000);
  await settled(api.pid);
  const withAll = await countConnections(pids, env.database, { pid: api.pid, port });
  log(
    `${fleet.pollsInFlight()} polls waiting (${format(performance.now() - started)} ms to park them); ` +
      `Redis: ${describeCounts(withFew.redis)} → ${describeCounts(withAll.redis)}`,
  );

  const named = { ...pids, bench: process.pid };

  /** Enqueues `count` jobs at `rate` per second on an open-loop schedule (no coordinated omission). */
  async function steady(prefix: string, rate: number, count: number, cpu?: ReturnType<typeof cpuMeter>) {
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    for (let index = 0; index < count; index += 1) {
      const due = t0 + (index * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(enqueuer.enqueue(pick(agents).clusterId, `${prefix}${index}`));
      if (index % rate === 0) cpu?.progress();
    }
    await Promise.all(pending);
    return drained(tracksOf(prefix), 5_000, 15_000, () => cpu?.progress());
  }

  log(`warm-up: ${WARMUP_SECONDS} s at ${RATE} jobs/s`);
  await steady("w-", RATE, RATE * WARMUP_SECONDS);
  const warmup = tracksOf("w-").flatMap((t) =>
    t.received === undefined ? [] : [t.received - t.enqueueStart],
  );
  await sleep(1_000);

  log(`latency: ${SECONDS} s at ${RATE} jobs/s over ${AGENTS} agents`);
  let cpu = cpuMeter(named);
  let probe = startLoopProbe(base);
  const latencyStuck = await steady("l-", RATE, RATE * SECONDS, cpu);
  const latencyCpu = cpu.result();
  const latencyProbe = await probe.stop();
  const latencyUnfinished = await unfinishedStates(
    env.databaseUrl,
    [...tracked].filter(([name]) => name.startsWith("l-")),
  );
  const latencyTracks = tracksOf("l-");
  const latencies = latencyTracks.flatMap((t) =>
    t.received === undefined ? [] : [t.received - t.enqueueStart],
  );
  const enqueueCalls = latencyTracks.flatMap((t) =>
    t.enqueueEnd === undefined ? [] : [t.enqueueEnd - t.enqueueStart],
  );
  const agentWork = latencyTracks.flatMap((t) =>
    t.finished === undefined || t.received === undefined ? [] : [t.finished - t.received],
  );
  const latencyStages = await stageBreakdown(env.databaseUrl, "l-");

  log(`throughput: burst of ${BURST} jobs, ${BURST_CONCURRENCY} enqueues in flight`);
  cpu = cpuMeter(named);
  probe = startLoopProbe(base);
  const burstStart = performance.now();
  let next = 0;
  let enqueuedAt = burstStart;
  await Promise.all(
    Array.from({ length: BURST_CONCURRENCY }, async () => {
      while (next < BURST) {
        const index = next++;
        await enqueuer.enqueue(pick(agents).clusterId, `t-${index}`);
        if (index % 100 === 0) cpu.progress();
      }
      enqueuedAt = Math.max(enqueuedAt, performance.now());
    }),
  );
  const burstTracks = tracksOf("t-");
  const burstStuck = await drained(
    burstTracks,
    5_000,
    BURST_TIMEOUT_MS - (performance.now() - burstStart),
    () => cpu.progress(),
  );
  const burstCpu = cpu.result();
  const burstProbe = await probe.stop();
  const burstUnfinished = await unfinishedStates(
    env.databaseUrl,
    [...tracked].filter(([name]) => name.startsWith("t-")),
  );
  const finishedTimes = burstTracks.flatMap((t) => (t.finished === undefined ? [] : [t.finished]));
  const lastFinished = finishedTimes.length > 0 ? Math.max(...finishedTimes) : performance.now();
  const burstSeconds = (lastFinished - burstStart) / 1000;
  const throughput = finishedTimes.length / burstSeconds;
  const burstStages = await stageBreakdown(env.databaseUrl, "t-");
  const afterLoad = await countConnections(pids, env.database, { pid: api.pid, port });

  const p50 = percentile(latencies, 50);
  const p99 = percentile(latencies, 99);
  const connections = (counts: ConnectionCounts) => `${counts.redisTotal} (${describeCounts(counts.redis)})`;
  const rows: Row[] = [
    goalRow(`enqueue→received p50 (${RATE} jobs/s × ${SECONDS} s)`, p50, "ms", "<= 15 ms", p50 <= 15),
    goalRow("enqueue→received p99", p99, "ms", "<= 50 ms", p99 <= 50),
    infoRow(`  warm-up before it (cold start, ${WARMUP_SECONDS} s) p50 / p99 / max`, pct(warmup)),
    infoRow(
      "  received / enqueued / max",
      `${latencies.length} / ${latencyTracks.length} / ${format(Math.max(...latencies))} ms`,
    ),
    infoRow(`  enqueue call (${ENQUEUE_MODE}) p50 / p99 / max`, pct(enqueueCalls)),
    infoRow("  agent ack + result round trips p50 / p99 / max", pct(agentWork)),
    ...latencyStages,
    infoRow(
      "  CPU % of a core and CPU ms/job",
      cpuShare(latencyCpu.used, latencyCpu.seconds, Math.max(1, latencies.length)),
    ),
    infoRow("  API GET /healthz probe p50 / p99 / max", pct(latencyProbe)),
    goalRow(
      `full lifecycle throughput (burst of ${BURST})`,
      throughput,
      "jobs/s",
      ">= 500 jobs/s",
      throughput >= 500,
    ),
    infoRow(
      "  finished / elapsed / enqueue-only rate",
      `${finishedTimes.length} / ${format(burstSeconds)} s / ` +
        `${format(BURST / ((enqueuedAt - burstStart) / 1000))} jobs/s`,
    ),
    ...burstStages,
    infoRow(
      "  CPU % of a core and CPU ms/job",
      cpuShare(burstCpu.used, burstCpu.seconds, Math.max(1, finishedTimes.length)),
    ),
    infoRow("  API GET /healthz probe p50 / p99 / max", pct(burstProbe)),
    infoRow(`Redis connections, ${few} agents waiting`, connections(withFew)),
    {
      figure: `Redis connections, ${AGENTS} agents waiting`,
      value: connections(withAll),
      goal: `= with ${few} (no growth)`,
      pass: withAll.redisTotal <= withFew.redisTotal,
    },
    infoRow("Redis connections after the load", connections(afterLoad)),
    infoRow(
      `API inbound HTTP connections (${few} / ${AGENTS} agents)`,
      `${withFew.apiHttp} / ${withAll.apiHttp}`,
    ),
    infoRow(
      `PostgreSQL conns by process (${few} / ${AGENTS} / after load)`,
      `${describeCounts(withFew.postgres)} / ${describeCounts(withAll.postgres)} / ${describeCounts(afterLoad.postgres)}`,
    ),
    infoRow(
      `pg_stat_activity for the database (${few} / ${AGENTS} / after load)`,
      `${withFew.pgActivity} / ${withAll.pgActivity} / ${afterLoad.pgActivity}`,
    ),
    {
      figure: "jobs unfinished when a phase ended: latency",
      value: `${latencyUnfinished}; ${latencyStuck.ended}`,
      goal: "none",
      pass: latencyStuck.unfinished === 0,
    },
    {
      figure: "jobs unfinished when a phase ended: burst",
      value: `${burstUnfinished}; ${burstStuck.ended}`,
      goal: "none",
      pass: burstStuck.unfinished === 0,
    },
    infoRow("agent errors", fleet.errors()),
    infoRow("enqueue failures", String(enqueuer.failures())),
  ];

  if (DUMP_FILE) {
    const origin = burstStart - 60_000;
    const rowsOut = [...tracked].map(([name, t]) => ({
      name,
      enqueueStart: t.enqueueStart - origin,
      enqueueEnd: t.enqueueEnd === undefined ? null : t.enqueueEnd - origin,
      received: t.received === undefined ? null : t.received - origin,
      finished: t.finished === undefined ? null : t.finished - origin,
      deliveries: t.deliveries,
    }));
    writeFileSync(DUMP_FILE, JSON.stringify(rowsOut));
  }
  log("stopping agents, API and worker");
  printTable(
    `bench/dispatch — ${AGENTS} agents over HTTP, API and worker as separate processes, enqueue via ${ENQUEUE_MODE}`,
    rows,
  );
});
