import { loadConfigOrExit } from "@vwksp/core";
import { buildAdminApp } from "./admin/admin-app.ts";
import { buildApp } from "./app.ts";
import { createApiDeps } from "./deps.ts";

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

  if (config.BOOTSTRAP_ADMIN_KEY) {
    await deps.apiKeys.ensureBootstrapKey(config.BOOTSTRAP_ADMIN_KEY);
    app.log.info("bootstrap admin key ensured");
  }

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

  await app.listen({ port: config.PORT, host: config.HOST });
  await admin?.listen({ port: config.METRICS_PORT, host: config.HOST });
}

main().catch((error: unknown) => {
  console.error("api: failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
