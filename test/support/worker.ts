import { createWorkerDeps } from "../../apps/worker/src/deps.ts";
import { processorsFor } from "../../apps/worker/src/processors.ts";
import { startWorkerRuntime } from "../../apps/worker/src/runtime.ts";
import { type Clock, createLogger } from "../../packages/core/src/index.ts";
import type { TestEnv } from "./app.ts";

/** The real worker processors on the test file's database and Redis prefix. */
export function createTestWorker({
  env,
  clock,
  configOverrides = {},
}: {
  env: TestEnv;
  clock?: Clock;
  configOverrides?: Record<string, string>;
}) {
  const config = env.config(configOverrides);
  const logger = createLogger("silent", "worker");
  const deps = createWorkerDeps(config, logger, clock ? { clock } : {});
  const processors = processorsFor(deps);
  const runtime = startWorkerRuntime({
    redisUrl: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    logger,
    processors,
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
