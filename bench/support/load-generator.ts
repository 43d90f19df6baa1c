// The load generator process of bench/events (started by bench/support/load.ts, driven over IPC).
// It plays agents posting the Go operator's heartbeat: `POST /api/agent/events` with
// `{"events":[{"kind":"ClusterHeartbeat","resourceRef":{…"name":"<clusterId>"},"timestamp":"…"}]}`
// and the operator's headers, over a pool of keep-alive node:http connections.
import { setMaxListeners } from "node:events";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { AgentIdentity } from "./agents.ts";
import { createHttpClient, goAgentHeaders, type HttpClient } from "./http.ts";
import type { GeneratorCommand, GeneratorMessage, LoadResult, LoadRun } from "./load.ts";

/** How long answers are awaited after the last request was sent; the rest are aborted. */
const DRAIN_TIMEOUT_MS = 5_000;

const tell = (message: GeneratorMessage) => process.send?.(message);

let agents: AgentIdentity[] = [];
let headers: Record<string, string>[] = [];
const clients = new Map<string, HttpClient>();
/** Round-robin position per agent range, kept across runs. */
const cursors = new Map<string, number>();

/** RFC 3339 in UTC with seconds, as Go's time.Time marshals a truncated time. */
const rfc3339 = () => `${new Date().toISOString().slice(0, 19)}Z`;

/** The Go operator's heartbeat body, byte for byte in its field order. */
const heartbeatBody = (clusterId: string) =>
  `{"events":[{"kind":"ClusterHeartbeat","resourceRef":{"apiVersion":"ops.vworkspace.io/v1alpha1",` +
  `"kind":"Cluster","namespace":"","name":"${clusterId}"},"timestamp":"${rfc3339()}"}]}`;

async function execute(id: number, run: LoadRun): Promise<LoadResult> {
  const client = clients.get(run.target);
  if (!client) throw new Error(`unknown target ${run.target}`);
  const range = `${run.from}-${run.to}`;
  let cursor = cursors.get(range) ?? run.from;
  const nextAgent = () => {
    const index = cursor;
    cursor = cursor + 1 >= run.to ? run.from : cursor + 1;
    return index;
  };

  // Aborts what is still unanswered when the run ends, so that no backlog spills into the next run.
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const t0 = performance.now();
  const startAt = t0 + run.warmupSeconds * 1000;
  const endAt = startAt + run.seconds * 1000;
  let markStart = Number.POSITIVE_INFINITY;
  let markEnd = Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  const serviceTimes: number[] = [];
  const dueEpoch: number[] = [];
  const errors: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let answeredInWindow = 0;
  let sentTotal = 0;
  let okTotal = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let cpuSeconds = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => {
    markStart = performance.now();
    loop.enable();
    cpuAtStart = process.cpuUsage();
    tell({ type: "mark", id, at: "start" });
  }, startAt - t0);
  const endTimer = setTimeout(
    () => {
      markEnd = performance.now();
      loop.disable();
      const used = process.cpuUsage(cpuAtStart);
      cpuSeconds = (used.user + used.system) / 1e6;
      tell({ type: "mark", id, at: "end" });
    },
    endAt - t0 + 1,
  );

  // Open loop: a request counts for the window it was due in. Closed loop: for the window its
  // answer arrived in (throughput = answers per second of the window).
  const counted = (due: number, end: number) =>
    run.mode === "open" ? due >= startAt && due < endAt : end >= markStart && end < markEnd;

  function fire(index: number, due: number): Promise<void> {
    const agent = agents[index] as AgentIdentity;
    const sentAt = performance.now();
    inFlight += 1;
    sentTotal += 1;
    if (run.mode === "open" ? due >= startAt && due < endAt : sentAt >= markStart && sentAt < markEnd) {
      sent += 1;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
    }
    const fail = (due: number, cause: string) => {
      inFlight -= 1;
      if (!abort.signal.aborted && counted(due, performance.now())) errors[cause] = (errors[cause] ?? 0) + 1;
    };
    return client
      ?.request(
        "POST",
        run.path,
        headers[index] as Record<string, string>,
        heartbeatBody(agent.clusterId),
        abort.signal,
      )
      .then(
        (response) => {
          const end = performance.now();
          if (response.status !== 204)
            return fail(due, `HTTP ${response.status} ${response.body.slice(0, 120)}`);
          inFlight -= 1;
          okTotal += 1;
          if (end >= markStart && end < markEnd) answeredInWindow += 1;
          if (!counted(due, end)) return;
          ok += 1;
          latencies.push(end - due);
          serviceTimes.push(end - sentAt);
          dueEpoch.push(performance.timeOrigin + due);
        },
        (error: NodeJS.ErrnoException) => fail(due, error.code ?? error.message),
      ) as Promise<void>;
  }

  if (run.mode === "open") {
    const interval = 1000 / run.rate;
    const total = Math.round((run.warmupSeconds + run.seconds) * run.rate);
    let index = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (index < total && t0 + index * interval <= now) {
          const due = t0 + index * interval;
          if (inFlight < run.maxInFlight) void fire(nextAgent(), due);
          else if (due >= startAt && due < endAt) {
            const cause = `not sent: ${run.maxInFlight} requests unanswered`;
            errors[cause] = (errors[cause] ?? 0) + 1;
          }
          index += 1;
        }
        if (index >= total) resolve();
        else setTimeout(tick, Math.max(0, t0 + index * interval - performance.now()));
      };
      tick();
    });
  } else {
    await Promise.all(
      Array.from({ length: run.concurrency }, async () => {
        while (performance.now() < endAt) await fire(nextAgent(), performance.now());
      }),
    );
  }
  cursors.set(range, cursor);
  const drainStarted = performance.now();
  while (inFlight > 0 && performance.now() - drainStarted < DRAIN_TIMEOUT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (inFlight > 0) {
    errors[`no answer ${DRAIN_TIMEOUT_MS / 1000} s after the last request (aborted)`] = inFlight;
    abort.abort();
  }
  // The end mark may still be due (a closed loop stops at endAt, the mark fires just after).
  while (markEnd === Number.POSITIVE_INFINITY) await new Promise((resolve) => setTimeout(resolve, 1));
  clearTimeout(startTimer);
  clearTimeout(endTimer);

  return {
    sent,
    ok,
    answeredInWindow,
    sentTotal,
    okTotal,
    errors,
    seconds: run.mode === "open" ? run.seconds : (markEnd - markStart) / 1000,
    latencies: Float64Array.from(latencies),
    serviceTimes: Float64Array.from(serviceTimes),
    dueEpoch: Float64Array.from(dueEpoch),
    maxInFlight,
    agents: Math.min(sent, run.to - run.from),
    cpuSeconds,
    loopDelayP99: loop.percentile(99) / 1e6,
    loopDelayMax: loop.max / 1e6,
  };
}

process.on("message", (command: GeneratorCommand) => {
  if (command.type === "init") {
    agents = command.agents;
    headers = agents.map((agent) => goAgentHeaders(agent.token, true));
    for (const [name, baseUrl] of Object.entries(command.targets)) {
      clients.set(name, createHttpClient(baseUrl, command.connections));
    }
    tell({ type: "ready" });
  } else if (command.type === "run") {
    execute(command.id, command.run).then(
      (result) => tell({ type: "result", id: command.id, result }),
      (error: unknown) =>
        tell({ type: "failed", message: error instanceof Error ? error.message : String(error) }),
    );
  } else {
    for (const client of clients.values()) client.close();
    process.exit(0);
  }
});

// The bench process went away (Ctrl-C, crash): do not linger.
process.on("disconnect", () => process.exit(0));
