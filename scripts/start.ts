// `pnpm start`: apply migrations, then run the API and the worker side by side on the local
// PostgreSQL/Redis defaults (or the environment's settings). `--watch` restarts on changes.
// Ctrl-C / SIGTERM stops both gracefully; if one dies, the other is stopped and the exit code
// is passed on, so a supervisor sees the failure.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { migrateDeploy } from "@vwksp/prisma-tool";
import { loadConfigOrExit } from "../packages/core/src/config.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const watch = process.argv.includes("--watch");

async function main() {
  const config = loadConfigOrExit("start");
  const { applied } = await migrateDeploy(config.DATABASE_URL);
  console.log(`migrations: ${applied.length === 0 ? "up to date" : `applied ${applied.join(", ")}`}`);

  const tsx = `${root}node_modules/.bin/tsx`;
  const children: ChildProcess[] = [];
  const run = (name: string, entry: string, env: NodeJS.ProcessEnv = process.env) => {
    const child = spawn(tsx, [...(watch ? ["watch"] : []), entry], {
      cwd: root,
      stdio: "inherit",
      // `pnpm dev` is read by a person: pretty lines unless LOG_FORMAT says otherwise.
      env: watch ? { LOG_FORMAT: "pretty", ...env } : env,
    });
    child.on("exit", (code, signal) => {
      if (!stopping) {
        console.error(`${name} exited (${signal ?? code}); stopping the others`);
        stop(code ?? 1);
      }
    });
    children.push(child);
  };

  let stopping = false;
  let exitCode = 0;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.on("SIGINT", () => stop(0));
  process.on("SIGTERM", () => stop(0));

  run("api", "apps/api/src/server.ts");
  // Side by side on one host, the worker's metrics listener takes the port after the API's.
  const workerMetricsPort = config.METRICS_PORT ? String(config.METRICS_PORT + 1) : undefined;
  run("worker", "apps/worker/src/main.ts", {
    ...process.env,
    ...(workerMetricsPort ? { METRICS_PORT: workerMetricsPort } : {}),
  });

  await Promise.all(children.map((child) => new Promise((resolve) => child.once("exit", resolve))));
  process.exit(exitCode);
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
