import { type ChildProcess, spawn } from "node:child_process";

/** EX_CONFIG: a process stopped by its configuration (packages/core/src/config.ts). */
const EXIT_BAD_CONFIG = 78;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** A child that ran this long before dying starts again after the first delay, not a longer one. */
const HEALTHY_RUN_MS = 60_000;

export interface SupervisedChild {
  name: string;
  command: string;
  args: string[];
  /** The child's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs the children side by side and keeps them running: one that dies is started again after
 * a delay that doubles with each quick death (1 s up to 30 s), and the others keep serving
 * meanwhile. A child stopped by its configuration (exit 78) is not restarted — the same
 * configuration would stop it again — and stops the others too. `stop()` ends them all
 * (SIGTERM) and resolves with the exit code to pass on.
 */
export function supervise(
  children: SupervisedChild[],
  options: { cwd: string; log: (line: string) => void },
) {
  const running = new Map<string, ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let exitCode = 0;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });

  function start(spec: SupervisedChild, delayMs: number) {
    const startedAt = Date.now();
    const child = spawn(spec.command, spec.args, {
      cwd: options.cwd,
      stdio: "inherit",
      env: spec.env ?? process.env,
    });
    running.set(spec.name, child);
    options.log(`${spec.name} started (pid ${child.pid})`);
    child.once("exit", (code, signal) => {
      running.delete(spec.name);
      if (stopping) {
        if (running.size === 0) finish(exitCode);
        return;
      }
      if (code === EXIT_BAD_CONFIG) {
        options.log(`${spec.name} refused its configuration (exit ${code}); stopping the others`);
        stop(code);
        return;
      }
      const nextDelay = Date.now() - startedAt >= HEALTHY_RUN_MS ? FIRST_DELAY_MS : delayMs;
      options.log(`${spec.name} exited (${signal ?? code}); restarting it in ${nextDelay / 1000} s`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) start(spec, Math.min(nextDelay * 2, MAX_DELAY_MS));
      }, nextDelay);
      timers.add(timer);
    });
  }

  function stop(code = 0) {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const timer of timers) clearTimeout(timer);
    if (running.size === 0) finish(exitCode);
    for (const child of running.values()) child.kill("SIGTERM");
  }

  for (const spec of children) start(spec, FIRST_DELAY_MS);
  return { stop, finished };
}
