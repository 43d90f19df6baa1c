import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO_ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const WORKER = fileURLToPath(new URL("./apply-worker.ts", import.meta.url));

export interface WorkerProcess {
  /** The first stdout line matching the pattern. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(): Promise<void>;
  exited: Promise<number | string>;
}

/** Starts apply-worker.ts as a process of its own (tsx from the repository root), input on stdin. */
export function startApplyWorker(input: unknown): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(JSON.stringify(input));
  let output = "";
  let errors = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    errors += chunk.toString("utf8");
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return {
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const match = pattern.exec(output);
          if (match) return resolve(match);
          if (child.exitCode !== null || Date.now() - started > timeoutMs) {
            return reject(new Error(`worker never printed ${pattern}; stdout: ${output}; stderr: ${errors}`));
          }
          setTimeout(check, 20);
        };
        check();
      }),
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}
