// bench/auth — the cost of authenticating an agent request on a credential-cache hit, and the
// latency of registration-token exchanges (argon2id on the libuv pool) under 20-way concurrency
// together with the event-loop delay they cause. See bench/README.md.
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { buildApp } from "../apps/api/src/app.ts";
import { type ApiDeps, createApiDeps } from "../apps/api/src/deps.ts";
import { hashSecret, verifySecret } from "../packages/core/src/tokens/argon2.ts";
import { createBenchEnv } from "./support/env.ts";
import { benchActor, createClusters, createRegisteredClusters } from "./support/fixtures.ts";
import { createHttpClient, goAgentHeaders } from "./support/http.ts";
import { runBench } from "./support/lifecycle.ts";
import {
  format,
  goalRow,
  infoRow,
  log,
  mapLimit,
  percentile,
  printTable,
  type Row,
} from "./support/stats.ts";

const CACHE_BATCHES = 300;
const CACHE_BATCH_SIZE = 1_000;
const SINGLE_SAMPLES = 20_000;
const INJECT_SAMPLES = 2_000;
const CONCURRENCY = 20;
const ROUNDS = 10;
const TIME_LIMIT_MS = 150_000;

const args = process.argv.slice(2);
const registerOnly = args.includes("--register-only");
const sweepArg = args.find((arg) => arg.startsWith("--threadpool-sweep"));
const sweep = sweepArg ? (sweepArg.split("=")[1] ?? "1,2,4,8").split(",").map(Number) : [];
// biome-ignore lint/suspicious/noUndeclaredEnvVars: libuv reads it at start; the bench only reports it
const threadpool = process.env.UV_THREADPOOL_SIZE ?? "4 (default)";

type App = Awaited<ReturnType<typeof buildApp>>;

/** Median and p99 of one authenticate() call on a cache hit, in µs. */
async function cacheHitCost(deps: ApiDeps, token: string) {
  await deps.credentials.authenticate(token); // warm-up: loads the credential into the cache
  const batchMeans: number[] = [];
  for (let batch = 0; batch < CACHE_BATCHES; batch += 1) {
    const started = process.hrtime.bigint();
    for (let call = 0; call < CACHE_BATCH_SIZE; call += 1) await deps.credentials.authenticate(token);
    batchMeans.push(Number(process.hrtime.bigint() - started) / CACHE_BATCH_SIZE / 1_000);
  }
  const single: number[] = [];
  for (let call = 0; call < SINGLE_SAMPLES; call += 1) {
    const started = process.hrtime.bigint();
    await deps.credentials.authenticate(token);
    single.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  return { batchMeans, single };
}

/** Per-request cost through the whole Fastify stack (app.inject, no socket), in µs. */
async function injectCost(app: App, url: string, headers: Record<string, string>, expected: number) {
  const samples: number[] = [];
  for (let call = 0; call < INJECT_SAMPLES + 200; call += 1) {
    const started = process.hrtime.bigint();
    const response = await app.inject({ method: "GET", url, headers });
    const elapsed = Number(process.hrtime.bigint() - started) / 1_000;
    if (response.statusCode !== expected) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
    if (call >= 200) samples.push(elapsed);
  }
  return samples;
}

interface RegisterFigures {
  threadpool: string;
  exchanges: number;
  p50: number;
  p99: number;
  max: number;
  loopP50: number;
  loopP99: number;
  loopMax: number;
  /** Share of wall time the event loop was busy during the concurrent exchanges. */
  loopBusy: number;
  /** Event-loop busy time per exchange, concurrent and one at a time (ms). */
  busyPerExchange: number;
  serialBusyPerExchange: number;
  serialP50: number;
  serialLoopP99: number;
  wallPerRound: number;
  argon2Verify: number;
}

/**
 * Issues (ROUNDS + 2) × CONCURRENCY registration tokens and exchanges them over real HTTP: round
 * 0 warms up (not counted), round 1 one exchange at a time (the floor), then ROUNDS rounds of
 * CONCURRENCY at once. The event-loop delay monitors run only while exchanges are in flight.
 */
async function registerLatency(app: App, deps: ApiDeps): Promise<RegisterFigures> {
  const actor = await benchActor(deps);
  const total = (ROUNDS + 2) * CONCURRENCY;
  log(`creating ${total} clusters and registration tokens (argon2id hash each)`);
  const clusters = await createClusters(deps, actor, total);
  const tokens = await mapLimit(clusters, 4, async (cluster) => ({
    clusterId: cluster.id,
    token: (await deps.registrationTokens.issue(actor, cluster.id, 3_600)).token,
  }));

  // argon2id verify alone, one at a time: the unit of work each exchange puts on the pool.
  const encoded = await hashSecret("0123456789abcdef0123456789abcdef01234567");
  const verifies: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    await verifySecret(encoded, "0123456789abcdef0123456789abcdef01234567");
    verifies.push(performance.now() - started);
  }

  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const client = createHttpClient(`http://127.0.0.1:${port}`, CONCURRENCY);
  const exchange = async ({ clusterId, token }: { clusterId: string; token: string }) => {
    const started = performance.now();
    const response = await client.request(
      "POST",
      "/api/agent/register",
      goAgentHeaders(token, true),
      JSON.stringify({ registrationToken: token, clusterId }),
    );
    if (response.status !== 200) throw new Error(`register: ${response.status} ${response.body}`);
    return performance.now() - started;
  };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const serialLoop = monitorEventLoopDelay({ resolution: 1 });
  const latencies: number[] = [];
  const serial: number[] = [];
  const rounds: number[] = [];
  let busyMs = 0;
  let serialBusyMs = 0;
  try {
    // Round 0 warms up; round 1 runs its exchanges one at a time (the floor, no contention).
    for (let round = 0; round <= ROUNDS + 1; round += 1) {
      const batch = tokens.slice(round * CONCURRENCY, (round + 1) * CONCURRENCY);
      const before = performance.eventLoopUtilization();
      if (round === 1) {
        serialLoop.enable();
        for (const item of batch) serial.push(await exchange(item));
        serialLoop.disable();
        serialBusyMs += performance.eventLoopUtilization(before).active;
        continue;
      }
      if (round > 1) loop.enable();
      const roundStarted = performance.now();
      const results = await Promise.all(batch.map(exchange));
      if (round > 1) {
        loop.disable();
        busyMs += performance.eventLoopUtilization(before).active;
        latencies.push(...results);
        rounds.push(performance.now() - roundStarted);
      }
    }
  } finally {
    client.close();
  }
  const wall = rounds.reduce((sum, ms) => sum + ms, 0);
  return {
    threadpool,
    exchanges: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    loopP50: loop.percentile(50) / 1e6,
    loopP99: loop.percentile(99) / 1e6,
    loopMax: loop.max / 1e6,
    loopBusy: busyMs / wall,
    busyPerExchange: busyMs / latencies.length,
    serialBusyPerExchange: serialBusyMs / serial.length,
    serialP50: percentile(serial, 50),
    serialLoopP99: serialLoop.percentile(99) / 1e6,
    wallPerRound: percentile(rounds, 50),
    argon2Verify: percentile(verifies, 50),
  };
}

/** Runs the register part in a fresh process per UV_THREADPOOL_SIZE (the pool size is fixed at start). */
function registerInChild(size: number): Promise<RegisterFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--register-only"],
      { env: { ...process.env, UV_THREADPOOL_SIZE: String(size) }, stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code) => {
      const line = output.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) reject(new Error(`register child (pool ${size}) failed`));
      else resolve(JSON.parse(line) as RegisterFigures);
    });
  });
}

function registerRows(figures: RegisterFigures): Row[] {
  return [
    infoRow(
      `register latency p50 (${figures.exchanges} exchanges, ${CONCURRENCY} concurrent)`,
      `${format(figures.p50)} ms`,
    ),
    goalRow("register latency p99", figures.p99, "ms", "<= 300 ms", figures.p99 <= 300),
    goalRow(
      "event-loop delay p99 during exchanges",
      figures.loopP99,
      "ms",
      "<= 10 ms",
      figures.loopP99 <= 10,
    ),
    infoRow(
      "event-loop delay p50 / max (1 ms sampling floor)",
      `${format(figures.loopP50)} / ${format(figures.loopMax)} ms`,
    ),
    infoRow("register latency max", `${format(figures.max)} ms`),
    infoRow(
      "event loop busy during exchanges (share; ms per exchange)",
      `${format(figures.loopBusy * 100)} %; ${format(figures.busyPerExchange)} ms`,
    ),
    infoRow(
      `one at a time (${CONCURRENCY}): latency p50; loop busy/exchange; delay p99`,
      `${format(figures.serialP50)} ms; ${format(figures.serialBusyPerExchange)} ms; ${format(figures.serialLoopP99)} ms`,
    ),
    infoRow(`wall time of one round of ${CONCURRENCY}`, `${format(figures.wallPerRound)} ms`),
    infoRow("argon2id verify alone (m=19 MiB t=2 p=1)", `${format(figures.argon2Verify)} ms`),
    infoRow("UV_THREADPOOL_SIZE", figures.threadpool),
  ];
}

await runBench(TIME_LIMIT_MS, async (onCleanup) => {
  const env = await createBenchEnv("auth");
  onCleanup(() => env.close());
  log(`database ${env.database}, Redis prefix ${env.redisPrefix}, UV_THREADPOOL_SIZE=${threadpool}`);
  const deps = createApiDeps(env.config());
  onCleanup(() => deps.close());
  const app = await buildApp(deps);
  onCleanup(() => app.close());
  await app.ready();

  if (registerOnly) {
    console.log(JSON.stringify(await registerLatency(app, deps)));
    return;
  }

  log("cache-hit cost of credentials.authenticate");
  const actor = await benchActor(deps);
  const [agent] = await createRegisteredClusters(deps, actor, 1);
  if (!agent) throw new Error("no cluster");
  const { batchMeans, single } = await cacheHitCost(deps, agent.token);

  log("the same through the HTTP stack (app.inject)");
  const headers = goAgentHeaders(agent.token, false);
  const health = await injectCost(app, "/healthz", {}, 200);
  const mismatch = await injectCost(app, "/api/agent/jobs?cluster=other&wait=0", headers, 403);
  const poll = await injectCost(app, `/api/agent/jobs?cluster=${agent.clusterId}&wait=0`, headers, 200);

  log("registration exchanges over HTTP");
  const register = await registerLatency(app, deps);

  const median = percentile(batchMeans, 50);
  printTable(`bench/auth — agent authentication and registration (UV_THREADPOOL_SIZE=${threadpool})`, [
    goalRow(
      `authenticate() cache hit, median (${CACHE_BATCHES} batches × ${CACHE_BATCH_SIZE})`,
      median,
      "µs",
      "<= 50 µs",
      median <= 50,
    ),
    infoRow("authenticate() cache hit, p99 of batch means", `${format(percentile(batchMeans, 99))} µs`),
    infoRow(
      `authenticate() cache hit, single calls p50 / p99 (${SINGLE_SAMPLES})`,
      `${format(percentile(single, 50))} / ${format(percentile(single, 99))} µs`,
    ),
    infoRow(
      "inject GET /healthz p50 / p99 (stack baseline, no auth)",
      `${format(percentile(health, 50))} / ${format(percentile(health, 99))} µs`,
    ),
    infoRow(
      "inject poll, wrong cluster → 403 p50 / p99 (auth, no SQL)",
      `${format(percentile(mismatch, 50))} / ${format(percentile(mismatch, 99))} µs`,
    ),
    infoRow(
      "inject poll wait=0 → 200 p50 / p99 (auth + claim SQL)",
      `${format(percentile(poll, 50))} / ${format(percentile(poll, 99))} µs`,
    ),
    ...registerRows(register),
  ]);

  if (sweep.length > 0) {
    const results: RegisterFigures[] = [];
    for (const size of sweep) {
      log(`register phase with UV_THREADPOOL_SIZE=${size} (fresh process)`);
      results.push(await registerInChild(size));
    }
    printTable(
      "UV_THREADPOOL_SIZE sweep — register p50 / p99 / max, event-loop delay p99 / max",
      results.map((figures) => ({
        figure: `UV_THREADPOOL_SIZE=${figures.threadpool}`,
        value:
          `${format(figures.p50)} / ${format(figures.p99)} / ${format(figures.max)} ms; ` +
          `loop ${format(figures.loopP99)} / ${format(figures.loopMax)} ms`,
        goal: "p99 <= 300, loop <= 10",
        pass: figures.p99 <= 300 && figures.loopP99 <= 10,
      })),
    );
  }
});
