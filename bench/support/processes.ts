import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { sleep } from "./stats.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ServiceProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Last lines of its output (for error reports). */
  output(): string;
  /** SIGTERM (the service closes gracefully), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs one of the service's entry points (`apps/api/src/server.ts`, `apps/worker/src/main.ts`)
 * as its own Node process with the same TypeScript loader this bench runs under (tsx).
 */
export function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeFlags: string[] = [],
  /** Also write what the process prints on stdout to this file (its pino log). */
  logFile?: string,
  args: string[] = [],
): ServiceProcess {
  const child = spawn(process.execPath, [...process.execArgv, ...nodeFlags, entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  if (logFile) {
    const file = createWriteStream(logFile);
    child.stdout?.pipe(file);
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.pid === undefined) throw new Error(`${name}: could not start`);
  return {
    name,
    pid: child.pid,
    child,
    output: () => lines.slice(-20).join("\n"),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `check` is true, or throws with the process output after `timeoutMs`. */
export async function waitFor(
  service: ServiceProcess,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (service.child.exitCode !== null) {
      throw new Error(`${service.name} exited with ${service.child.exitCode}:\n${service.output()}`);
    }
    if (await check()) return;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${service.name} not ready after ${timeoutMs} ms:\n${service.output()}`);
    }
    await sleep(100);
  }
}
