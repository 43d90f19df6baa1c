import { loadConfigOrExit } from "@vwksp/core";
import { buildAdminApp } from "./admin/admin-app.ts";
import { buildApp } from "./app.ts";
import { createApiDeps } from "./deps.ts";
import { ensureAdminKey, reportDependencies } from "./startup.ts";

/** How long the start waits for PostgreSQL and Redis before it listens regardless. */
const STARTUP_WAIT_MS = 3_000;

// Reads config, builds, listens, and closes gracefully on SIGTERM/SIGINT: stop accepting,
// answer in-flight requests (waiting polls get an empty answer), then close the pools.
async function main() {
  const config = loadConfigOrExit("api");
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  const deps = createApiDeps(config, {
    reportError: (error, context) => app?.log.warn({ err: error }, context),
  });
  app = await buildApp(deps);
  // The internal listener (metrics, queue dashboard) closes with the API, before the pools.
  const admin = config.METRICS_PORT === undefined ? undefined : await buildAdminApp(deps);
  app.addHook("onClose", async () => {
    await admin?.close();
    await deps.close();
  });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      app.log.error("shutdown took too long, exiting");
      process.exit(1);
    }, 30_000);
    timer.unref();
    await app.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  // The admin key is in place before the port opens when PostgreSQL answers; when a dependency is
  // away, the API listens anyway (requests that need it answer 503) and finishes this once it is back.
  const stopChecks = new AbortController();
  app.addHook("onClose", async () => stopChecks.abort());
  const prepared = reportDependencies(deps, app.log, stopChecks.signal).then(async () => {
    if (!stopChecks.signal.aborted) await ensureAdminKey(deps, app.log, (text) => process.stdout.write(text));
  });
  prepared.catch((error: unknown) =>
    app.log.error({ err: error }, "could not set up the admin key; restart to retry"),
  );
  await Promise.race([
    prepared.catch(() => {}),
    new Promise((resolve) => setTimeout(resolve, STARTUP_WAIT_MS)),
  ]);

  await app.listen({ port: config.PORT, host: config.HOST });
  await admin?.listen({ port: config.METRICS_PORT, host: config.HOST });
}

main().catch((error: unknown) => {
  console.error("api: failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
