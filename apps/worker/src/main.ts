import {
  createLogger,
  credentialSealerFor,
  loadConfigOrExit,
  redisUnreachable,
  resealGitCredentials,
} from "@vwksp/core";
import { describeRedisTarget, redisTarget, waitForRedis } from "@vwksp/queue";
import { createWorkerDeps } from "./deps.ts";
import { createWorkerGitOps, type WorkerGitOps } from "./gitops-executor.ts";
import { startMetricsServer } from "./metrics/metrics-server.ts";
import {
  completionHooksFor,
  processorsFor,
  reconcileQueued,
  schedulesFor,
  workerSettingsFor,
} from "./processors.ts";
import { startWorkerRuntime } from "./runtime.ts";

// The worker process: BullMQ processors for dispatch, odoo-sync and maintenance. Closes
// gracefully on SIGTERM (running jobs finish; unfinished ones are picked up by another worker).
async function main() {
  const config = loadConfigOrExit("worker");
  const logger = createLogger(config.LOG_LEVEL, "worker", undefined, config.LOG_FORMAT);
  // GitOps mode's executor needs SECRET_KEY (the Git credentials are sealed under it).
  let gitops: WorkerGitOps | undefined;
  const deps = createWorkerDeps(config, logger, {
    executors: (services) => {
      gitops = createWorkerGitOps(config, logger, services);
      return gitops ? { gitops: gitops.executor } : {};
    },
  });
  if (!gitops) logger.warn("SECRET_KEY is not set: jobs of gitops clusters wait until a worker has it");
  else if (!config.PUBLIC_URL) logger.warn("PUBLIC_URL is not set: jobs of gitops clusters fail");
  const processors = processorsFor(deps);
  // Up before Redis is: a liveness probe must not kill a worker that waits for Redis.
  const metricsServer =
    config.METRICS_PORT === undefined
      ? undefined
      : await startMetricsServer({
          metrics: deps.metrics,
          logger,
          port: config.METRICS_PORT,
          host: config.HOST,
        });
  // Started before Redis (a host reboot, a compose stack coming up), the worker waits for it.
  await waitForRedis(deps.redis, (reason) =>
    logger.warn(
      { redis: describeRedisTarget(redisTarget(config)), reason },
      `${redisUnreachable(describeRedisTarget(redisTarget(config)), reason)} The worker is waiting for Redis before it starts.`,
    ),
  );
  const runtime = startWorkerRuntime({
    redisUrl: redisTarget(config),
    prefix: config.REDIS_PREFIX,
    logger,
    processors,
    settings: workerSettingsFor(),
    concurrency: { execute: config.EXECUTE_CONCURRENCY },
    onCompleted: completionHooksFor(deps),
    onJobDone: deps.metrics.jobDone,
  });
  await schedulesFor(deps, processors);
  deps.startPushWatches();
  logger.info({ queues: runtime.workers.map((w) => w.name) }, "worker started");
  // Jobs requested while Redis was away are rows without a dispatch job: hand them to BullMQ as
  // soon as Redis is back (every "ready" from now on is a reconnect), not at the next reconcile.
  let reconciling = false;
  deps.redis.on("ready", async () => {
    logger.info("Redis is back");
    if (reconciling) return;
    reconciling = true;
    try {
      // Page by page (staleQueued reads up to 1,000) until none is left over.
      for (let round = 0; round < 100; round += 1) {
        const { scanned, requeued } = await reconcileQueued(deps, 0);
        if (scanned < 1000 || requeued === 0) break;
      }
    } catch (error) {
      logger.warn({ err: error }, "re-enqueueing after the Redis outage failed; the reconcile job retries");
    } finally {
      reconciling = false;
    }
  });
  if (config.SECRET_KEY) {
    // Keys stored before the secret was set, or sealed under a previous one, are sealed under it
    // now; failing here only delays that.
    deps.clusters
      .sealSigningKeys()
      .then((sealed) => sealed > 0 && logger.info({ sealed }, "sealed signing keys under SECRET_KEY"))
      .catch((error: unknown) => logger.error({ err: error }, "sealing signing keys failed"));
    const sealer = credentialSealerFor(config);
    if (sealer)
      resealGitCredentials(deps.db, sealer)
        .then((count) => count > 0 && logger.info({ count }, "resealed Git credentials under SECRET_KEY"))
        .catch((error: unknown) => logger.error({ err: error }, "resealing Git credentials failed"));
  } else {
    logger.warn(
      "SECRET_KEY is not set: clusters' signing private keys are stored unencrypted, and push clusters' jobs wait (no kubeconfig can be stored)",
    );
  }

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "worker shutting down");
    const timer = setTimeout(() => process.exit(1), 30_000);
    timer.unref();
    await runtime.close();
    await gitops?.close();
    await metricsServer?.close();
    await deps.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  console.error("worker: failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
