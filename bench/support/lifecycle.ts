import { log } from "./stats.ts";

type Cleanup = () => unknown;

/**
 * Runs a bench with a hard time limit: whatever happens (error, Ctrl-C, time limit), the
 * registered cleanups run in reverse order (stop processes, drop the database, delete the Redis
 * keys) and the process exits. Exit code 0 = figures printed (PASS or MISS), 1 = the bench failed.
 */
export async function runBench(
  limitMs: number,
  body: (onCleanup: (cleanup: Cleanup) => void) => Promise<void>,
): Promise<never> {
  const cleanups: Cleanup[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        try {
          await step();
        } catch (error) {
          log(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return cleaning;
  };
  const abort = (reason: string, code: number) => {
    log(reason);
    void cleanup().then(() => process.exit(code));
  };
  const watchdog = setTimeout(() => abort(`time limit of ${limitMs / 1000} s reached, stopping`, 2), limitMs);
  process.once("SIGINT", () => abort("interrupted", 130));
  process.once("SIGTERM", () => abort("terminated", 143));

  let code = 0;
  try {
    await body((step) => cleanups.push(step));
  } catch (error) {
    console.error(error);
    code = 1;
  }
  await cleanup();
  clearTimeout(watchdog);
  // Some clients (the migration engine's pool, keep-alive sockets) would hold the process open.
  process.exit(code);
}
