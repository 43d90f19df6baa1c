// bench/events — heartbeat ingestion: the real `POST /api/agent/events` and a bare Fastify route
// served by this one process, loaded by the same generator running as a separate process;
// heartbeats/s and their ratio to the bare route, latency at a fixed rate with the clusters
// spread as ninety thousand agents at a 30 s interval spread them, and what PostgreSQL writes
// meanwhile. See bench/README.md.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { Session } from "node:inspector/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { buildApp } from "../apps/api/src/app.ts";
import { createApiDeps } from "../apps/api/src/deps.ts";
import { closeDb, createDb, createLogger } from "../packages/core/src/index.ts";
import type { AgentIdentity } from "./support/agents.ts";
import { buildBareApp } from "./support/bare-app.ts";
import { cloneRegisteredClusters } from "./support/bulk-clusters.ts";
import { createBenchEnv } from "./support/env.ts";
import { benchActor, createFixtureServices, createRegisteredClusters } from "./support/fixtures.ts";
import { runBench } from "./support/lifecycle.ts";
import { type LoadGenerator, type LoadResult, type LoadRun, startLoadGenerator } from "./support/load.ts";
import { createLineRedactingLogger } from "./support/logger-what-if.ts";
import { machineBusySeconds } from "./support/machine.ts";
import { openPgCounters, type PgCounters, pgDelta } from "./support/pg-stats.ts";
import { cpuDelta, cpuTimes } from "./support/procfs.ts";
import { meterRawStatements, type StatementRecord } from "./support/statement-meter.ts";
import {
  format,
  goalRow,
  infoRow,
  log,
  mapLimit,
  option,
  percentile,
  printTable,
  type Row,
  sleep,
} from "./support/stats.ts";

const CLUSTERS = Number(option("clusters", "90000"));
const WARM_POOL = Math.min(CLUSTERS, Number(option("warm-pool", "10000")));
const RATE = Number(option("rate", "3000"));
const SECONDS = Number(option("seconds", "20"));
const MAX_SECONDS = Number(option("max-seconds", "10"));
const CONCURRENCY = Number(option("concurrency", "32"));
const CONNECTIONS = Number(option("connections", "64"));
const API_LOG_LEVEL = option("api-log-level", "info");
/** What-if: `line` = the product's logger options but redaction of the finished line (logger-what-if.ts). */
const API_LOGGER = option("api-logger", "product");
const MAX_BACKLOG = Number(option("max-backlog", "3000"));
const PROFILE_DIR = option("profile", "");
const DUMP_FILE = option("dump", "");
const KEEP = process.argv.includes("--keep");
const TIME_LIMIT_MS = 150_000;
const PATH = "/api/agent/events";
const FLUSH_MARKER = 'UPDATE "Cluster"';

const P99_GOAL_MS = 25;
const RATIO_GOAL = 0.25;

interface Snapshot {
  at: number;
  cpu: NodeJS.CpuUsage;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
  processes: ReturnType<typeof cpuTimes>;
  machine: number;
  pg: PgCounters;
}

/** What one measured window gave, on both sides of the wire. */
interface Measured {
  load: LoadResult;
  /** The service's side of the window (this process): wall s, CPU s, event loop. */
  seconds: number;
  serviceCpu: number;
  loopBusy: number;
  loopP99: number;
  loopMax: number;
  /** CPU s per process group (procfs), PostgreSQL's counters, and the coalesced writes. */
  processes: Record<string, number>;
  /** CPU s the whole machine was busy. */
  machine: number;
  pg: PgCounters;
  flushes: StatementRecord[];
}

const ms = (value: number) => `${format(value)} ms`;
/** A latency; ∞ stands for requests that got no 204 (they count as infinitely slow). */
const latency = (value: number) => (value === Number.POSITIVE_INFINITY ? "∞" : format(value));
/** p50 / p99 / max of the answered requests, with `failed` more counted as infinitely slow. */
const pct = (samples: ArrayLike<number>, failed = 0) => {
  const values = [...Array.from(samples), ...new Array<number>(failed).fill(Number.POSITIVE_INFINITY)];
  return `${latency(percentile(values, 50))} / ${latency(percentile(values, 99))} / ${latency(percentile(values, 100))} ms`;
};
const perSecond = (count: number, seconds: number) => `${format(count / seconds)}/s`;
const describeErrors = (errors: Record<string, number>) =>
  Object.keys(errors).length === 0
    ? "0"
    : Object.entries(errors)
        .map(([cause, count]) => `${count} × ${cause}`)
        .join("; ");
const errorCount = (errors: Record<string, number>) => Object.values(errors).reduce((sum, n) => sum + n, 0);

const KNOWN = ["service", "generator", "postgres", "redis"];

/**
 * CPU use over a window as % of one core: this process (the service), the generator, PostgreSQL
 * and Redis, then the rest of the machine (from /proc/stat) with the names of the busiest other
 * processes (their procfs figures include the whole life of children that exited meanwhile, so
 * only their names are shown).
 */
function cpuShare(m: Measured) {
  const share = (cpu: number) => `${format((cpu / m.seconds) * 100)}%`;
  const known = KNOWN.map((name) => `${name} ${share(m.processes[name] ?? 0)}`).join(", ");
  const rest = m.machine - KNOWN.reduce((sum, name) => sum + (m.processes[name] ?? 0), 0);
  const others = Object.entries(m.processes)
    .filter(([name, cpu]) => !KNOWN.includes(name) && cpu / m.seconds >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name]) => name.replace(/^other\((.*)\)$/, "$1"));
  return `${known}; rest of the machine ${share(Math.max(0, rest))}${others.length > 0 ? ` (${others.join(", ")})` : ""}`;
}

await runBench(TIME_LIMIT_MS, async (onCleanup) => {
  const env = await createBenchEnv("events");
  onCleanup(() =>
    KEEP ? log(`kept database ${env.database} and Redis prefix ${env.redisPrefix}`) : env.close(),
  );
  log(`database ${env.database}, Redis prefix ${env.redisPrefix}`);

  // Clusters: one through the core services, the others cloned from it in bulk.
  const started = performance.now();
  const services = createFixtureServices(env.databaseUrl);
  const actor = await benchActor(services);
  const [template] = await createRegisteredClusters(services, actor, 1);
  await closeDb(services.db);
  if (!template) throw new Error("no template cluster");
  const agents: AgentIdentity[] = [
    template,
    ...(await cloneRegisteredClusters(env.databaseUrl, template.clusterId, CLUSTERS - 1)),
  ];
  log(`${agents.length} clusters with credentials in ${format(performance.now() - started)} ms`);

  // The service: the product's API and the bare route, both in this process.
  const devNull = openSync("/dev/null", "w");
  onCleanup(() => closeSync(devNull));
  const config = env.config({ LOG_LEVEL: API_LOG_LEVEL });
  const meter = meterRawStatements(createDb(config.DATABASE_URL), FLUSH_MARKER);
  const deps = createApiDeps(config, { db: meter.db });
  onCleanup(() => deps.close());
  // The production logger (level, redaction, serializers) writing to /dev/null instead of stdout.
  const destination = { write: (line: string) => void writeSync(devNull, line) };
  const logger =
    API_LOGGER === "line"
      ? createLineRedactingLogger(API_LOG_LEVEL, "api", destination)
      : createLogger(API_LOG_LEVEL, "api", destination);
  const app = await buildApp(deps, { logger });
  onCleanup(() => app.close());
  await app.listen({ host: "127.0.0.1", port: 0 });
  const bare = await buildBareApp(PATH);
  onCleanup(() => bare.close());
  await bare.listen({ host: "127.0.0.1", port: 0 });
  const apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;

  const generator: LoadGenerator = await startLoadGenerator(
    { api: apiUrl, bare: bareUrl },
    agents,
    CONNECTIONS,
  );
  onCleanup(() => generator.stop());
  log(`API on ${apiUrl}, bare route on ${bareUrl} (pid ${process.pid}); generator pid ${generator.pid}`);

  const counters = await openPgCounters(env.database, ["Cluster", "AgentCredential"]);
  onCleanup(() => counters.close());
  const profiler = PROFILE_DIR ? new Session() : undefined;
  if (profiler) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    profiler.connect();
    await profiler.post("Profiler.enable");
    onCleanup(() => profiler.disconnect());
  }

  async function snapshot(): Promise<Snapshot> {
    const at = performance.now();
    const cpu = process.cpuUsage();
    const elu = performance.eventLoopUtilization();
    const processes = cpuTimes();
    const machine = machineBusySeconds();
    return { at, cpu, elu, processes, machine, pg: await counters.snapshot() };
  }

  /** Runs `run` and gathers both sides' figures over its measured window. */
  async function measure(run: LoadRun, profileName?: string): Promise<Measured> {
    const loop = monitorEventLoopDelay({ resolution: 1 });
    let first: Promise<Snapshot> | undefined;
    let last: Promise<Snapshot> | undefined;
    let profileWritten: Promise<void> | undefined;
    const load = await generator.run(run, (at) => {
      if (at === "start") {
        loop.enable();
        first = snapshot();
        if (profiler && profileName) void profiler.post("Profiler.start");
      } else {
        loop.disable();
        last = snapshot();
        if (profiler && profileName) {
          profileWritten = profiler.post("Profiler.stop").then(({ profile }) => {
            writeFileSync(join(PROFILE_DIR, `events-${profileName}.cpuprofile`), JSON.stringify(profile));
          });
        }
      }
    });
    if (!first || !last) throw new Error("the generator did not mark its window");
    const [before, after] = await Promise.all([first, last]);
    await profileWritten;
    const seconds = (after.at - before.at) / 1000;
    return {
      load,
      seconds,
      serviceCpu: (after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system) / 1e6,
      loopBusy: performance.eventLoopUtilization(after.elu, before.elu).utilization,
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
      processes: cpuDelta(before.processes, after.processes, {
        service: process.pid,
        generator: generator.pid,
      }),
      machine: after.machine - before.machine,
      pg: pgDelta(before.pg, after.pg),
      flushes: meter.between(before.at, after.at),
    };
  }

  /**
   * Loads the credentials of agents [from, to) into the API's cache as a first request would
   * (dropping what is cached first, so that each entry has its full 30 s of life from now on).
   */
  let cachedAt = 0;
  const warmCredentials = async (from: number, to: number) => {
    const warmStarted = performance.now();
    await mapLimit(agents.slice(from, to), 16, async (agent) => {
      deps.credentials.invalidateCluster(agent.clusterId);
      await deps.credentials.authenticate(agent.token);
    });
    cachedAt = performance.now();
    log(`credentials of ${to - from} clusters cached in ${format(cachedAt - warmStarted)} ms`);
  };
  /**
   * Writes everything the coalescer holds. flush() returns the write in progress if there is one,
   * and what arrived during that write stays pending: flush until nothing is.
   */
  const flushAll = async () => {
    do await deps.heartbeats.flush();
    while (deps.heartbeats.pendingCount() > 0);
  };
  const settle = async () => {
    await flushAll();
    await sleep(1_000);
  };
  const freshFrom = CLUSTERS > WARM_POOL ? WARM_POOL : 0;

  // 1. The bare route at its maximum (closed loop).
  log(`bare route, closed loop: ${CONCURRENCY} in flight, 2 s warm-up + ${MAX_SECONDS} s`);
  const bareMax = await measure({
    target: "bare",
    path: PATH,
    from: 0,
    to: WARM_POOL,
    warmupSeconds: 2,
    seconds: MAX_SECONDS,
    mode: "closed",
    concurrency: CONCURRENCY,
  });

  // 2. The heartbeat endpoint at its maximum, over the warm pool with its credentials cached.
  await warmCredentials(0, WARM_POOL);
  const check = await generator.run({
    target: "api",
    path: PATH,
    from: 0,
    to: WARM_POOL,
    warmupSeconds: 0,
    seconds: 0.2,
    mode: "closed",
    concurrency: 1,
  });
  if (check.ok === 0 || errorCount(check.errors) > 0) {
    throw new Error(`heartbeats refused: ${describeErrors(check.errors)}`);
  }
  log(`heartbeat endpoint, closed loop: ${CONCURRENCY} in flight, 1 s warm-up + ${MAX_SECONDS} s`);
  const eventsMax = await measure(
    {
      target: "api",
      path: PATH,
      from: 0,
      to: WARM_POOL,
      warmupSeconds: 1,
      seconds: MAX_SECONDS,
      mode: "closed",
      concurrency: CONCURRENCY,
    },
    "max",
  );
  await settle();

  // 3. The fixed rate, first over the warm pool (credentials cached), then over clusters not
  //    seen yet (every heartbeat loads its credential, as at a 30 s interval with the 30 s cache).
  if (performance.now() - cachedAt > 15_000) {
    // The cache entries would expire during the phase (longer --max-seconds): load them again,
    // then wait until the pool's idle backends have published the lookups' statistics
    // (PostgreSQL 15: within 10 s), so that they do not count in the window.
    await warmCredentials(0, WARM_POOL);
    await sleep(11_000);
  }
  log(`heartbeat endpoint at ${RATE}/s over the ${WARM_POOL} warm clusters: 1 s warm-up + 10 s`);
  const warmRate = await measure(
    {
      target: "api",
      path: PATH,
      from: 0,
      to: WARM_POOL,
      warmupSeconds: 1,
      seconds: 10,
      mode: "open",
      rate: RATE,
      maxInFlight: MAX_BACKLOG,
    },
    "rate-warm",
  );
  await settle();

  log(`heartbeat endpoint at ${RATE}/s over clusters ${freshFrom}..${CLUSTERS}: 2 s warm-up + ${SECONDS} s`);
  const spreadStart = new Date();
  const spread = await measure(
    {
      target: "api",
      path: PATH,
      from: freshFrom,
      to: CLUSTERS,
      warmupSeconds: 2,
      seconds: SECONDS,
      mode: "open",
      rate: RATE,
      maxInFlight: MAX_BACKLOG,
    },
    "rate-spread",
  );
  await flushAll();
  const moved = await counters.query<{ count: string }>(
    `SELECT count(*) AS count FROM "Cluster" WHERE "lastSeenAt" >= $1::timestamp AND "lastHeartbeatAt" >= $1::timestamp`,
    [spreadStart.toISOString()],
  );
  const movedRows = Number(moved.rows[0]?.count ?? 0);
  // Round robin over a range that the run does not wrap: one cluster per answered heartbeat.
  const spreadClusters = Math.min(spread.load.okTotal, CLUSTERS - freshFrom);
  const spreadSent = Math.min(spread.load.sentTotal, CLUSTERS - freshFrom);
  await sleep(1_000);

  // 4. The bare route at the same rate: the floor of the latency figures (generator + loopback).
  log(`bare route at ${RATE}/s: 1 s warm-up + 10 s`);
  const bareRate = await measure({
    target: "bare",
    path: PATH,
    from: 0,
    to: WARM_POOL,
    warmupSeconds: 1,
    seconds: 10,
    mode: "open",
    rate: RATE,
    maxInFlight: MAX_BACKLOG,
  });

  // ---- figures ----
  const bareMaxRate = bareMax.load.ok / bareMax.load.seconds;
  const eventsMaxRate = eventsMax.load.ok / eventsMax.load.seconds;
  const ratio = eventsMaxRate / bareMaxRate;
  const cpuPerRequest = (m: Measured) => (m.serviceCpu * 1e6) / Math.max(1, m.load.answeredInWindow);
  const answeredRate = (m: Measured) => m.load.answeredInWindow / m.seconds;
  const spreadErrors = errorCount(spread.load.errors);
  const withFailures = (m: Measured) => [
    ...Array.from(m.load.latencies),
    ...new Array<number>(errorCount(m.load.errors)).fill(Number.POSITIVE_INFINITY),
  ];
  const p99 = percentile(withFailures(spread), 99);
  const achieved = answeredRate(spread);
  const flushesPerSecond = spread.flushes.length / spread.seconds;
  const rowsUpdated = (m: Measured) => (m.pg.tables.Cluster?.updated ?? 0) / m.seconds;
  const warmCommits = warmRate.pg.commits / warmRate.seconds;

  const loadRow = (m: Measured) =>
    `${pct(m.load.latencies, errorCount(m.load.errors))}; errors ${describeErrors(m.load.errors)}`;
  const cpuRow = (m: Measured) =>
    infoRow(
      "  CPU % of a core; service CPU per answer; loop busy, delay p99 / max: service; generator",
      `${cpuShare(m)}; ${format(cpuPerRequest(m))} µs; ${format(m.loopBusy * 100)} %, ` +
        `${ms(m.loopP99)} / ${ms(m.loopMax)}; ${ms(m.load.loopDelayP99)} / ${ms(m.load.loopDelayMax)}`,
    );
  const flushRow = (m: Measured) => {
    const rows = m.flushes.map((flush) => flush.rows);
    const durations = m.flushes.map((flush) => flush.ms);
    return (
      `${perSecond(m.flushes.length, m.seconds)}; ${format(percentile(rows, 50))} / ${format(percentile(rows, 100))} rows; ` +
      `${ms(percentile(durations, 50))} / ${ms(percentile(durations, 100))}`
    );
  };
  const pgRow = (m: Measured) =>
    `${perSecond(m.pg.commits, m.seconds)}; ${perSecond(m.pg.tables.AgentCredential?.indexScans ?? 0, m.seconds)}; ` +
    `${perSecond(m.pg.inserted + m.pg.updated + m.pg.deleted, m.seconds)}; ${format(m.pg.walBytes / m.seconds / 1024)} KiB/s`;

  // Tail latency of the requests due within 50 ms of the start of a coalesced UPDATE (building
  // the statement runs on the event loop; the requests waiting then are delayed), against the rest.
  const origin = performance.timeOrigin;
  const aroundFlushes = (m: Measured) => {
    const starts = m.flushes.map((f) => origin + f.at);
    const near: number[] = [];
    const others: number[] = [];
    m.load.dueEpoch.forEach((due, index) => {
      const value = m.load.latencies[index] as number;
      (starts.some((start) => Math.abs(due - start) < 50) ? near : others).push(value);
    });
    return `${ms(percentile(near, 99))} (${near.length}) / ${ms(percentile(others, 99))} (${others.length})`;
  };
  const aroundRow = (m: Measured) =>
    infoRow("  p99 of answers due within 50 ms of an UPDATE's start (count) / the others", aroundFlushes(m));

  const rows: Row[] = [
    infoRow(
      `bare route, max (closed loop, ${CONCURRENCY} in flight, ${MAX_SECONDS} s)`,
      `${format(bareMaxRate)} req/s`,
    ),
    infoRow("  latency p50 / p99 / max; errors", loadRow(bareMax)),
    cpuRow(bareMax),
    infoRow(
      `heartbeat endpoint, max (same generator; ${WARM_POOL} clusters, credentials cached)`,
      `${format(eventsMaxRate)} heartbeats/s`,
    ),
    infoRow("  latency p50 / p99 / max; errors", loadRow(eventsMax)),
    cpuRow(eventsMax),
    goalRow("heartbeat / bare throughput ratio", ratio, "", `>= ${RATIO_GOAL}`, ratio >= RATIO_GOAL),
    infoRow(
      "  service CPU per answer, bare / heartbeat (ratio)",
      `${format(cpuPerRequest(bareMax))} / ${format(cpuPerRequest(eventsMax))} µs ` +
        `(${format(cpuPerRequest(bareMax) / cpuPerRequest(eventsMax))})`,
    ),
    {
      figure:
        `heartbeats at ${RATE}/s over ${CLUSTERS - freshFrom} clusters ` +
        `${freshFrom > 0 ? "not seen yet" : "(the warm ones)"} ` +
        `(each once per ${format((CLUSTERS - freshFrom) / RATE)} s), ${SECONDS} s: p99`,
      value: `${latency(p99)} ms`,
      goal: `<= ${P99_GOAL_MS} ms`,
      pass: p99 <= P99_GOAL_MS,
    },
    infoRow("  p50 / p99 / max from the due time (no answer = ∞)", pct(withFailures(spread))),
    infoRow("  p50 / p99 / max from the send (answered only)", pct(spread.load.serviceTimes)),
    goalRow(
      "  achieved rate (204s received per second of the window)",
      achieved,
      "heartbeats/s",
      `>= ${format(RATE * 0.99)}, no errors`,
      achieved >= RATE * 0.99 && spreadErrors === 0,
    ),
    infoRow("  errors", describeErrors(spread.load.errors)),
    cpuRow(spread),
    {
      figure: `  ${FLUSH_MARKER} statements/s; rows per statement p50 / max; duration p50 / max`,
      value: flushRow(spread),
      goal: "<= 1.1/s (one a second)",
      pass: flushesPerSecond > 0 && flushesPerSecond <= 1.1,
    },
    aroundRow(spread),
    infoRow(
      "  PostgreSQL commits/s; credential lookups/s; rows written/s; WAL (whole server)",
      pgRow(spread),
    ),
    goalRow(
      `  "Cluster" rows updated/s (${format((spread.pg.tables.Cluster?.hotUpdated ?? 0) / spread.seconds)} HOT)`,
      rowsUpdated(spread),
      "/s",
      "<= 204s/s (one row per cluster)",
      rowsUpdated(spread) > 0 && rowsUpdated(spread) <= achieved * 1.05,
    ),
    {
      // A request aborted by the generator may still have been served: moved can exceed answered.
      figure: "  clusters whose lastSeenAt and lastHeartbeatAt moved / answered 204 / sent",
      value: `${movedRows} / ${spreadClusters} / ${spreadSent}`,
      goal: "answered <= moved <= sent",
      pass: movedRows >= spreadClusters && movedRows <= spreadSent,
    },
    infoRow(
      `heartbeats at ${RATE}/s over the ${WARM_POOL} clusters with cached credentials, 10 s: p50 / p99 / max`,
      loadRow(warmRate),
    ),
    infoRow("  achieved rate", `${format(answeredRate(warmRate))} heartbeats/s`),
    cpuRow(warmRate),
    infoRow(
      `  ${FLUSH_MARKER} statements/s; rows per statement p50 / max; duration p50 / max`,
      flushRow(warmRate),
    ),
    aroundRow(warmRate),
    goalRow(
      "  PostgreSQL commits/s (no credential lookups: only the coalesced writes)",
      warmCommits,
      "/s",
      "<= 2/s",
      warmCommits <= 2,
    ),
    infoRow(
      "  PostgreSQL commits/s; credential lookups/s; rows written/s; WAL (whole server)",
      pgRow(warmRate),
    ),
    infoRow(`bare route at ${RATE}/s, 10 s (the floor): p50 / p99 / max; errors`, loadRow(bareRate)),
    cpuRow(bareRate),
    infoRow(
      "setup",
      `${CLUSTERS} clusters, ${CONNECTIONS} keep-alive connections per target, API LOG_LEVEL=${API_LOG_LEVEL}` +
        (API_LOGGER === "line" ? ", WHAT-IF logger redacting finished lines" : ", the product's logger") +
        " (to /dev/null)" +
        (PROFILE_DIR ? `, CPU profiles in ${PROFILE_DIR} (slower)` : ""),
    ),
  ];

  if (DUMP_FILE) {
    const phases = { bareMax, eventsMax, warmRate, spread, bareRate };
    const dump = Object.fromEntries(
      Object.entries(phases).map(([name, m]) => [
        name,
        {
          latencies: Array.from(m.load.latencies),
          dueEpoch: Array.from(m.load.dueEpoch),
          flushes: m.flushes.map((f) => ({ atEpoch: origin + f.at, ms: f.ms, rows: f.rows })),
        },
      ]),
    );
    writeFileSync(DUMP_FILE, JSON.stringify(dump));
  }
  log("stopping");
  printTable(
    `bench/events — heartbeats vs a bare Fastify route in one process (pid ${process.pid}), load from a separate process`,
    rows,
  );
});
