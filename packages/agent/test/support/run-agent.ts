import { main } from "../../src/cli.ts";
import type { Timing } from "../../src/clock.ts";
import { captureOutput } from "./control-plane.ts";

export interface RecordedCall {
  method: string;
  path: string;
}

/** A fetch that records the agent's calls and lets a test interfere with them. */
export function recordingFetch(
  interfere?: (call: RecordedCall, forward: () => Promise<Response>) => Promise<Response>,
) {
  const calls: RecordedCall[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const call = { method: init?.method ?? "GET", path: url.pathname };
    calls.push(call);
    const forward = () => fetch(input, init);
    return interfere ? interfere(call, forward) : forward();
  };
  return { fetch: fetchImpl, calls };
}

/** `vwksp-agent run` in-process; `stop()` is SIGTERM. */
export function runAgent(args: string[], options: { fetch?: typeof fetch; timing?: Timing } = {}) {
  const stdout = captureOutput();
  const stderr = captureOutput();
  const stop = new AbortController();
  const exited = main(["run", ...args], {
    stdout,
    stderr,
    env: {},
    signal: stop.signal,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timing ? { timing: options.timing } : {}),
  });
  return {
    stdout,
    stderr,
    exited,
    async stop() {
      stop.abort();
      return exited;
    },
  };
}
