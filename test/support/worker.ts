import { createWorkerDeps, type ExecutorServices } from "../../apps/worker/src/deps.ts";
import { completionHooksFor, processorsFor, workerSettingsFor } from "../../apps/worker/src/processors.ts";
import { startWorkerRuntime } from "../../apps/worker/src/runtime.ts";
import {
  type Clock,
  createLogger,
  type ExecutorMode,
  type JobExecutor,
  type PushWatchOptions,
} from "../../packages/core/src/index.ts";
import { redisTarget } from "../../packages/queue/src/connection.ts";
import type { createLogCapture, TestEnv } from "./app.ts";

export interface TestWorkerOptions {
  env: TestEnv;
  clock?: Clock;
  configOverrides?: Record<string, string>;
  captureLogs?: ReturnType<typeof createLogCapture>;
  /** First retry delay of odoo-sync jobs (production: 2 s). */
  odooBackoffBaseMs?: number;
  /** Who performs the jobs of push and GitOps clusters (or builds them from the worker's services). */
  executors?:
    | Partial<Record<ExecutorMode, JobExecutor>>
    | ((services: ExecutorServices) => Partial<Record<ExecutorMode, JobExecutor>>);
  /** Shorter backoffs for the push watches. */
  pushWatchOptions?: PushWatchOptions;
  /** Delays between webhook attempts (production: about a day in all). */
  webhookRetryDelaysMs?: number[];
}

/** The real worker processors on the test file's database and Redis prefix. */
export function createTestWorker({
  env,
  clock,
  configOverrides = {},
  captureLogs,
  odooBackoffBaseMs,
  executors,
  pushWatchOptions,
  webhookRetryDelaysMs,
}: TestWorkerOptions) {
  const config = env.config(configOverrides);
  const logger = captureLogs
    ? createLogger("trace", "worker", captureLogs.stream)
    : createLogger("silent", "worker");
  const deps = createWorkerDeps(config, logger, {
    ...(clock ? { clock } : {}),
    ...(executors ? { executors } : {}),
    ...(pushWatchOptions ? { pushWatchOptions } : {}),
    ...(webhookRetryDelaysMs ? { webhookRetryDelaysMs } : {}),
  });
  const processors = processorsFor(deps);
  const runtime = startWorkerRuntime({
    redisUrl: redisTarget(config),
    prefix: config.REDIS_PREFIX,
    logger,
    processors,
    settings: workerSettingsFor(odooBackoffBaseMs ? { odooBackoffBaseMs } : {}),
    onCompleted: completionHooksFor(deps),
    onJobDone: deps.metrics.jobDone,
  });
  return {
    deps,
    processors,
    async close() {
      await runtime.close();
      await deps.close();
    },
  };
}
