// `pnpm start`: apply migrations, then run the API and the worker side by side on the local
// PostgreSQL/Redis defaults (or the environment's settings). `--watch` restarts on changes.
// A process that dies is started again (with backoff) while the other keeps running; Ctrl-C /
// SIGTERM stops both gracefully. See scripts/lib/supervise.ts.
import { fileURLToPath } from "node:url";
import { migrateDeploy } from "@vwksp/prisma-tool";
import { loadConfigOrExit } from "../packages/core/src/config.ts";
import { supervise } from "./lib/supervise.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const watch = process.argv.includes("--watch");

/** The process itself (TypeScript through tsx's loader), or tsx's watcher around it. */
function command(entry: string) {
  return watch
    ? { command: `${root}node_modules/.bin/tsx`, args: ["watch", entry] }
    : { command: process.execPath, args: ["--import", "tsx", entry] };
}

async function main() {
  const config = loadConfigOrExit("start");
  const { applied } = await migrateDeploy(config.DATABASE_URL);
  console.log(`migrations: ${applied.length === 0 ? "up to date" : `applied ${applied.join(", ")}`}`);

  // `pnpm dev` is read by a person: pretty lines unless LOG_FORMAT says otherwise.
  const env = watch ? { LOG_FORMAT: "pretty", ...process.env } : process.env;
  // Side by side on one host, the worker's metrics listener takes the port after the API's.
  const workerMetricsPort = config.METRICS_PORT ? String(config.METRICS_PORT + 1) : undefined;
  const supervisor = supervise(
    [
      { name: "api", ...command("apps/api/src/server.ts"), env },
      {
        name: "worker",
        ...command("apps/worker/src/main.ts"),
        env: { ...env, ...(workerMetricsPort ? { METRICS_PORT: workerMetricsPort } : {}) },
      },
    ],
    { cwd: root, log: (line) => console.error(`start: ${line}`) },
  );
  process.on("SIGINT", () => supervisor.stop(0));
  process.on("SIGTERM", () => supervisor.stop(0));
  process.exit(await supervisor.finished);
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
