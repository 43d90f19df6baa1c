import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AgentIdentity } from "./agents.ts";

// The parent's side of bench/support/load-generator.ts: a Node process of its own that sends
// POST requests over keep-alive node:http connections, so that the load generator's CPU does not
// share an event loop with the service it measures.

/** One run of the generator: warm-up, then the measured window (the parent is told when). */
export type LoadRun = {
  /** Key of `targets` given to `init` (a base URL). */
  target: string;
  path: string;
  /** Agents `[from, to)` of the list given to `init`, taken round-robin (a cursor per range). */
  from: number;
  to: number;
  warmupSeconds: number;
  seconds: number;
} & (
  | {
      /** Closed loop: `concurrency` lanes, each sends its next request when the last one is answered. */
      mode: "closed";
      concurrency: number;
    }
  | {
      /**
       * Open loop: request i is due at start + i / rate whether or not earlier ones were answered;
       * latency is measured from that due time (no coordinated omission). A request due while
       * `maxInFlight` are unanswered is not sent and counts as an error: past that backlog the
       * server is hopelessly behind, and an unbounded queue would make the generator measure
       * itself.
       */
      mode: "open";
      rate: number;
      maxInFlight: number;
    }
);

export interface LoadResult {
  /** Requests scheduled (open) or started (closed) in the measured window. */
  sent: number;
  /** Requests answered 204 whose answer arrived in the measured window (closed) / that were due in it (open). */
  ok: number;
  /** Answers (204) that arrived in the measured window, whenever the request was due: the achieved rate. */
  answeredInWindow: number;
  /** Requests sent by the whole run, warm-up included, and those answered 204. */
  sentTotal: number;
  okTotal: number;
  /** Failures in the measured window by cause ("HTTP 500: …", "ECONNRESET", …). */
  errors: Record<string, number>;
  /** Length of the measured window as the generator timed it (s). */
  seconds: number;
  /** Latency of every answered request of the window (ms): from due time (open) or from sending (closed). */
  latencies: Float64Array;
  /** Open loop: from the moment the request was handed to node:http to its answer (ms). */
  serviceTimes: Float64Array;
  /** When each of `latencies` was due (open) or sent (closed), as a Unix time in ms (sub-ms precision). */
  dueEpoch: Float64Array;
  /** Most requests in flight at once during the window. */
  maxInFlight: number;
  /** Distinct agents the window's requests were for. */
  agents: number;
  /** The generator's own CPU time in the window (s) and its event-loop delay p99 / max (ms). */
  cpuSeconds: number;
  loopDelayP99: number;
  loopDelayMax: number;
}

export type GeneratorCommand =
  | { type: "init"; targets: Record<string, string>; agents: AgentIdentity[]; connections: number }
  | { type: "run"; id: number; run: LoadRun }
  | { type: "exit" };

export type GeneratorMessage =
  | { type: "ready" }
  | { type: "mark"; id: number; at: "start" | "end" }
  | { type: "result"; id: number; result: LoadResult }
  | { type: "failed"; message: string };

const ENTRY = fileURLToPath(new URL("./load-generator.ts", import.meta.url));

/**
 * Starts the generator process (same Node and TypeScript loader as this one) and hands it the
 * agents and the base URLs. `run` resolves with the figures of the measured window; `onMark`
 * is called when the window starts and when it ends (the load is still running at both), for
 * snapshots of counters that must cover exactly the window.
 */
export async function startLoadGenerator(
  targets: Record<string, string>,
  agents: AgentIdentity[],
  connections: number,
) {
  const child: ChildProcess = fork(ENTRY, [], {
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let nextId = 0;
  const waiting = new Map<
    number,
    {
      resolve: (result: LoadResult) => void;
      reject: (error: Error) => void;
      onMark: (at: "start" | "end") => void;
    }
  >();
  let onReady: (() => void) | undefined;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  child.on("message", (message: GeneratorMessage) => {
    if (message.type === "ready") onReady?.();
    else if (message.type === "mark") waiting.get(message.id)?.onMark(message.at);
    else if (message.type === "result") {
      waiting.get(message.id)?.resolve(message.result);
      waiting.delete(message.id);
    } else if (message.type === "failed") failAll(new Error(`load generator: ${message.message}`));
  });
  child.once("exit", (code, signal) => failAll(new Error(`load generator exited (${code ?? signal})`)));
  const send = (command: GeneratorCommand) => child.send(command);

  await new Promise<void>((resolve, reject) => {
    onReady = resolve;
    child.once("exit", () => reject(failure));
    send({ type: "init", targets, agents, connections });
  });

  return {
    pid: child.pid as number,
    run(run: LoadRun, onMark: (at: "start" | "end") => void = () => {}): Promise<LoadResult> {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject, onMark });
        send({ type: "run", id, run });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      if (child.connected) send({ type: "exit" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type LoadGenerator = Awaited<ReturnType<typeof startLoadGenerator>>;
