import { type ServiceProcess, startProcess } from "../../scripts/lib/processes.ts";
import { sleep } from "./stats.ts";

export { freePort, type ServiceProcess } from "../../scripts/lib/processes.ts";

/**
 * Runs one of the service's entry points (`apps/api/src/server.ts`, `apps/worker/src/main.ts`)
 * as its own Node process, through the launcher the scripts and tests use, with this process's
 * environment under `env`.
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
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return startProcess(
    name,
    entry,
    args,
    { ...inherited, ...env },
    {
      nodeFlags,
      keepLines: 200,
      ...(logFile ? { logFile } : {}),
    },
  );
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
      throw new Error(
        `${service.name} exited with ${service.child.exitCode}:\n${service.output.slice(-20).join("\n")}`,
      );
    }
    if (await check()) return;
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${service.name} not ready after ${timeoutMs} ms:\n${service.output.slice(-20).join("\n")}`,
      );
    }
    await sleep(100);
  }
}
