// bench/polls — what waiting long-polls cost the API: 10,000 and 50,000 agents each holding a
// `GET /api/agent/jobs?wait=300` on its own connection, against the API and the worker running as
// their own processes on loopback. Per API process: RSS and V8 heap per waiting poll, event-loop
// delay while they wait, wake-up latency of jobs enqueued meanwhile, and what a mass disconnect
// costs (event-loop stall, jobs left leased for closed sockets). See bench/README.md.
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { closeDb } from "../packages/core/src/index.ts";
import type { AgentIdentity } from "./support/agents.ts";
import { cloneRegisteredClusters } from "./support/bulk-clusters.ts";
import { jobBody } from "./support/enqueue.ts";
import { createBenchEnv } from "./support/env.ts";
import {
  BENCH_ADMIN_KEY,
  benchActor,
  createFixtureServices,
  createRegisteredClusters,
} from "./support/fixtures.ts";
import { createHttpClient } from "./support/http.ts";
import { runBench } from "./support/lifecycle.ts";
import type { PollClientReport, PollClientStart } from "./support/poll-client.ts";
import { freePort, type ServiceProcess, startService, waitFor } from "./support/processes.ts";
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

const SIZES = option("polls", "10000,50000").split(",").map(Number);
const WAKEUPS = Number(option("wakeups", "100"));
const RACE = Number(option("race", "300"));
/** Where the API processes write CPU profiles (`--cpu-prof`), if anywhere. */
const PROFILE_DIR = option("profile", "");
const TIME_LIMIT_MS = 1_500_000;
/** Per-poll goal of the issue: under 10 KB of the API's memory per waiting poll. */
const GOAL_BYTES_PER_POLL = 10_000;

/** The soft and hard limits of open files of this process. */
function fileLimits(): { soft: number; hard: number } {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((text) => text.startsWith("Max open files"));
  const [soft, hard] = (line ?? "")
    .split(/\s{2,}/)
    .slice(1, 3)
    .map(Number);
  return { soft: soft ?? 1024, hard: hard ?? 1024 };
}

// Each waiting poll is a socket in the API and one in the client: raise the soft limit of open
// files to the hard one by running again under `ulimit -n` (Node cannot call setrlimit).
const limits = fileLimits();
if (limits.soft < limits.hard && !process.argv.includes("--raised-limit")) {
  const script = fileURLToPath(import.meta.url);
  try {
    execFileSync(
      "sh",
      [
        "-c",
        `ulimit -n ${limits.hard} && exec "$0" "$@"`,
        process.execPath,
        ...process.execArgv,
        script,
        ...process.argv.slice(2),
        "--raised-limit",
      ],
      { stdio: "inherit" },
    );
    process.exit(0);
  } catch (error) {
    process.exit((error as { status?: number }).status ?? 1);
  }
}
/** Polls one API process (and one client process) holds: its sockets and a margin under the limit. */
const PER_PROCESS = Math.min(Number(option("per-process", "18000")), limits.soft - 1_500);

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;

/** The API's internal listener (METRICS_PORT) for the one on the agents' port. */
const metricsBaseOf = new Map<string, string>();

/**
 * One scrape of the API's /metrics on its internal listener (each scrape also restarts its
 * event-loop delay window): the value of a sample by name.
 */
async function scrape(base: string): Promise<(name: string) => number> {
  const text = await (await fetch(`${metricsBaseOf.get(base) ?? base}/metrics`)).text();
  return (name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}
const metric = async (base: string, name: string) => (await scrape(base))(name);
/** The event-loop delay p99 and max of each API since its previous scrape, in seconds. */
const loopDelays = (bases: string[]) =>
  Promise.all(
    bases.map(async (base) => {
      const sample = await scrape(base);
      return {
        p99: sample("nodejs_eventloop_lag_p99_seconds"),
        max: sample("nodejs_eventloop_lag_max_seconds"),
      };
    }),
  );

interface ApiFigures {
  rssBefore: number;
  heapBefore: number;
  rssWaiting: number;
  heapWaiting: number;
  /**
   * V8 heap in use right after a full garbage collection, while the polls wait and once they
   * are gone (caches still warm: the credential cache is per cluster, not per poll).
   */
  liveWaiting: number;
  liveAfter: number;
}

/**
 * The API's heap in use after a full garbage collection: a heap snapshot (SIGUSR2, see
 * `--heapsnapshot-signal`) collects first. The snapshot itself is deleted at once.
 */
async function liveHeap(api: ServiceProcess, base: string, directory: string): Promise<number> {
  const before = new Set(readdirSync(directory));
  process.kill(api.pid, "SIGUSR2");
  // The snapshot is written on the main thread: /metrics answers again once it is done.
  let written: string | undefined;
  for (let waited = 0; !written && waited < 120_000; waited += 200) {
    await sleep(200);
    written = readdirSync(directory).find((name) => !before.has(name) && name.endsWith(".heapsnapshot"));
  }
  const heap = await metric(base, "nodejs_heap_size_used_bytes");
  if (written) rmSync(join(directory, written), { force: true });
  return heap;
}

/** Times GET /healthz on each API every 100 ms: mostly the wait for the API's event loop. */
function startHealthProbe(bases: string[]) {
  const samples: number[] = [];
  let running = true;
  const done = Promise.all(
    bases.map(async (base) => {
      const client = createHttpClient(base, 1);
      while (running) {
        const started = performance.now();
        await client.request("GET", "/healthz", {}).catch(() => {});
        samples.push(performance.now() - started);
        await sleep(100);
      }
      client.close();
    }),
  );
  return {
    async stop() {
      running = false;
      await done;
      return samples;
    },
  };
}

async function measure(size: number): Promise<Row[]> {
  const processes = Math.ceil(size / PER_PROCESS);
  log(
    `${size} polls over ${processes} API process(es) of at most ${PER_PROCESS} (open files: soft ${limits.soft}, hard ${limits.hard})`,
  );
  const env = await createBenchEnv("polls");
  const started: ServiceProcess[] = [];
  const clients: ChildProcess[] = [];
  const snapshots = mkdtempSync(join(tmpdir(), "vwksp-polls-"));
  try {
    const services = createFixtureServices(env.databaseUrl);
    const actor = await benchActor(services);
    const [template] = await createRegisteredClusters(services, actor, 1);
    await closeDb(services.db);
    if (!template) throw new Error("no template cluster");
    const agents: AgentIdentity[] = [
      template,
      ...(await cloneRegisteredClusters(env.databaseUrl, template.clusterId, size - 1)),
    ];
    log(`${agents.length} clusters with credentials`);

    const serviceEnv = env.env({
      LOG_LEVEL: "warn",
      BOOTSTRAP_ADMIN_KEY: BENCH_ADMIN_KEY,
    });
    const bases: string[] = [];
    const apis: ServiceProcess[] = [];
    for (let index = 0; index < processes; index++) {
      const port = await freePort();
      const metricsPort = await freePort();
      const api = startService(
        `api-${index}`,
        "apps/api/src/server.ts",
        { ...serviceEnv, PORT: String(port), METRICS_PORT: String(metricsPort), HOST: "127.0.0.1" },
        [
          "--heapsnapshot-signal=SIGUSR2",
          `--diagnostic-dir=${snapshots}`,
          ...(PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []),
        ],
      );
      started.push(api);
      apis.push(api);
      const base = `http://127.0.0.1:${port}`;
      metricsBaseOf.set(base, `http://127.0.0.1:${metricsPort}`);
      bases.push(base);
      await waitFor(api, async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok === true);
    }
    const worker = startService("worker", "apps/worker/src/main.ts", serviceEnv);
    started.push(worker);
    await sleep(3_000);
    const figures: ApiFigures[] = [];
    for (const [index, api] of apis.entries()) {
      const base = bases[index] as string;
      figures.push({
        rssBefore: rssBytes(api.pid),
        heapBefore: await metric(base, "nodejs_heap_size_used_bytes"),
        rssWaiting: 0,
        heapWaiting: 0,
        liveWaiting: 0,
        liveAfter: 0,
      });
    }

    // One client process per API process, each from a source address of its own.
    const answers = new Map<string, { at: number; jobIds: string[] }[]>();
    const out = new Array<number>(processes).fill(0);
    const failed = new Array<number>(processes).fill(0);
    const refusals = new Map<number, number>();
    for (let index = 0; index < processes; index++) {
      const child = fork(fileURLToPath(new URL("./support/poll-client.ts", import.meta.url)), [], {
        execArgv: process.execArgv,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      clients.push(child);
      child.on("message", (report: PollClientReport) => {
        if (report.type === "out") {
          out[index] = report.polls;
          failed[index] = report.failed;
        } else if (report.status !== 200) refusals.set(report.status, (refusals.get(report.status) ?? 0) + 1);
        else if (report.status === 200 && report.jobIds.length > 0) {
          const list = answers.get(report.clusterId) ?? [];
          list.push({ at: report.at, jobIds: report.jobIds });
          answers.set(report.clusterId, list);
        }
      });
      const start: PollClientStart = {
        port: Number(new URL(bases[index] as string).port),
        localAddress: `127.0.0.${index + 2}`,
        agents: agents.slice(index * PER_PROCESS, (index + 1) * PER_PROCESS),
        waitSeconds: 300,
        openPerSecond: 1_000,
      };
      child.send(start);
    }
    const waiting = async () =>
      (await Promise.all(bases.map((base) => metric(base, "vwksp_long_poll_waiters")))).reduce(
        (a, b) => a + b,
        0,
      );
    const openedAt = performance.now();
    let lastLog = 0;
    for (;;) {
      const now = await waiting();
      if (now >= size) break;
      if (performance.now() - lastLog > 5_000) {
        const refused = [...refusals].map(([status, count]) => `${count}×${status}`).join(", ") || "none";
        log(
          `${now} polls waiting (${out.reduce((a, b) => a + b, 0)} sent, ${failed.reduce((a, b) => a + b, 0)} connections failed, answers other than 200: ${refused})`,
        );
        lastLog = performance.now();
      }
      // Each new poll authenticates (a credential lookup) and claims once: on a busy machine a
      // few hundred a second per API process.
      const deadlineMs = Math.max(240_000, size * 12);
      if (performance.now() - openedAt > deadlineMs)
        throw new Error(`only ${now} of ${size} polls waiting after ${deadlineMs / 1000} s`);
      await sleep(500);
    }
    log(`${size} polls waiting after ${format((performance.now() - openedAt) / 1000)} s; settling`);
    await sleep(10_000);
    for (const [index, api] of apis.entries()) {
      const figure = figures[index] as ApiFigures;
      figure.rssWaiting = rssBytes(api.pid);
      figure.heapWaiting = await metric(bases[index] as string, "nodejs_heap_size_used_bytes");
      figure.liveWaiting = await liveHeap(api, bases[index] as string, snapshots);
    }

    // While they wait: /healthz latency, the API's event-loop delay, and wake-ups of jobs
    // enqueued for random waiting clusters (enqueue → the poll's answer, through the worker).
    await loopDelays(bases);
    const probe = startHealthProbe(bases);
    const admin = createHttpClient(bases[0] as string, 8);
    const headers = { authorization: `Bearer ${BENCH_ADMIN_KEY}`, "content-type": "application/json" };
    const wakeups: number[] = [];
    const enqueuedAt = new Map<string, number>();
    for (let index = 0; index < WAKEUPS; index++) {
      const agent = agents[Math.floor(Math.random() * agents.length)] as AgentIdentity;
      if (enqueuedAt.has(agent.clusterId)) continue;
      enqueuedAt.set(agent.clusterId, Date.now());
      await admin.request(
        "POST",
        `/api/v1/clusters/${agent.clusterId}/jobs`,
        headers,
        JSON.stringify(jobBody(`wake-${index}`)),
      );
      await sleep(100);
    }
    await sleep(3_000);
    for (const [clusterId, at] of enqueuedAt) {
      const answer = answers.get(clusterId)?.[0];
      if (answer) wakeups.push(answer.at - at);
    }
    const healthz = await probe.stop();
    const waitingLoop = await loopDelays(bases);

    // The race: jobs for RACE waiting clusters, and every client gone the moment they are
    // dispatched. Jobs claimed for a socket already closed must be back to `ready` at once.
    const raceAgents = agents.filter((agent) => !enqueuedAt.has(agent.clusterId)).slice(0, RACE);
    const answeredBefore = new Set(answers.keys());
    await mapLimit(raceAgents, 16, (agent, index) =>
      admin.request(
        "POST",
        `/api/v1/clusters/${agent.clusterId}/jobs`,
        headers,
        JSON.stringify(jobBody(`race-${index}`)),
      ),
    );
    await loopDelays(bases);
    const disconnectProbe = startHealthProbe(bases);
    const killedAt = performance.now();
    for (const child of clients) child.kill("SIGKILL");
    // Scrapes restart the delay window: the largest delay over all of them.
    const disconnectLoop = bases.map(() => ({ p99: 0, max: 0 }));
    for (;;) {
      const samples = await Promise.all(bases.map(scrape));
      samples.forEach((sample, index) => {
        const loop = disconnectLoop[index] as { p99: number; max: number };
        loop.max = Math.max(loop.max, sample("nodejs_eventloop_lag_max_seconds"));
      });
      const left = samples.reduce((total, sample) => total + sample("vwksp_long_poll_waiters"), 0);
      if (left === 0 || performance.now() - killedAt > 60_000) break;
      await sleep(100);
    }
    const drainedMs = performance.now() - killedAt;
    const disconnectHealthz = await disconnectProbe.stop();
    admin.close();
    await sleep(3_000);
    for (const [index, api] of apis.entries()) {
      (figures[index] as ApiFigures).liveAfter = await liveHeap(api, bases[index] as string, snapshots);
    }
    const receivedByRace = raceAgents.filter(
      (agent) => answers.has(agent.clusterId) && !answeredBefore.has(agent.clusterId),
    ).length;
    const database = new pg.Client({ connectionString: env.databaseUrl });
    database.on("error", () => {});
    await database.connect();
    const { rows } = await database.query<{ state: string; n: number }>(
      `SELECT state::text, count(*)::int AS n FROM "Job" WHERE payload->'metadata'->>'name' LIKE 'race-%' GROUP BY state`,
    );
    const wake = await database.query<{ p50: number; p99: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
         FROM (SELECT EXTRACT(EPOCH FROM ("deliveredAt" - "readyAt")) * 1000 AS ms FROM "Job"
               WHERE payload->'metadata'->>'name' LIKE 'wake-%' AND "deliveredAt" IS NOT NULL) AS d`,
    );
    await database.end();
    const raceStates = Object.fromEntries(rows.map((row) => [row.state, row.n]));
    const leftLeased = Math.max(0, (raceStates.leased ?? 0) - receivedByRace);

    const perProcess = size / processes;
    const sum = (pick: (figure: ApiFigures) => number) =>
      figures.reduce((total, figure) => total + pick(figure), 0);
    const rssPerPoll = (sum((f) => f.rssWaiting) - sum((f) => f.rssBefore)) / size;
    const heapPerPoll = (sum((f) => f.heapWaiting) - sum((f) => f.heapBefore)) / size;
    const livePerPoll = (sum((f) => f.liveWaiting) - sum((f) => f.liveAfter)) / size;
    const ms = (seconds: number[]) => format(Math.max(...seconds) * 1000);
    return [
      infoRow(`${size} polls: API processes × polls each`, `${processes} × ${format(perProcess)}`),
      infoRow(
        "  RSS per process before → waiting",
        figures
          .map((f) => `${format(f.rssBefore / 2 ** 20)} → ${format(f.rssWaiting / 2 ** 20)} MiB`)
          .join("; "),
      ),
      goalRow(
        "  RSS per waiting poll",
        rssPerPoll / 1000,
        "KB",
        `< ${GOAL_BYTES_PER_POLL / 1000} KB`,
        rssPerPoll < GOAL_BYTES_PER_POLL,
      ),
      infoRow("  V8 heap used per waiting poll (garbage included)", `${format(heapPerPoll / 1000)} KB`),
      infoRow(
        "  V8 heap live per waiting poll (full GC, waiting − all gone)",
        `${format(livePerPoll / 1000)} KB`,
      ),
      infoRow(
        "  event-loop delay while waiting, p99 / max",
        `${ms(waitingLoop.map((d) => d.p99))} / ${ms(waitingLoop.map((d) => d.max))} ms`,
      ),
      infoRow(
        "  /healthz while waiting, p50 / p99",
        `${format(percentile(healthz, 50))} / ${format(percentile(healthz, 99))} ms`,
      ),
      infoRow(
        "  wake-up: enqueue → poll answered, p50 / p99",
        `${format(percentile(wakeups, 50))} / ${format(percentile(wakeups, 99))} ms (${wakeups.length} of ${enqueuedAt.size})`,
      ),
      infoRow(
        "  wake-up: ready → leased (database), p50 / p99",
        `${format(Number(wake.rows[0]?.p50))} / ${format(Number(wake.rows[0]?.p99))} ms`,
      ),
      infoRow("  mass disconnect: all waiters gone after", `${format(drainedMs)} ms`),
      infoRow("  mass disconnect: event-loop delay max", `${ms(disconnectLoop.map((d) => d.max))} ms`),
      infoRow("  mass disconnect: /healthz max", `${format(Math.max(...disconnectHealthz))} ms`),
      infoRow(
        "  race: leased, not received by a client",
        `${leftLeased} of ${raceAgents.length} (${JSON.stringify(raceStates)}, ${receivedByRace} received)`,
      ),
    ];
  } finally {
    for (const child of clients) child.kill("SIGKILL");
    for (const service of started.reverse()) await service.stop();
    await env.close();
    rmSync(snapshots, { recursive: true, force: true });
  }
}

await runBench(TIME_LIMIT_MS, async () => {
  const rows: Row[] = [];
  for (const size of SIZES) rows.push(...(await measure(size)));
  printTable(
    `bench/polls — waiting long-polls (open files: soft ${limits.soft}, hard ${limits.hard}; ${PER_PROCESS} polls per API process at most)`,
    rows,
  );
});
