import {
  type Clock,
  type Config,
  createAuditService,
  createDb,
  type Db,
  type Logger,
  systemClock,
} from "@vwksp/core";
import { createQueues, createRedis } from "@vwksp/queue";

/** What the processors need, built once per worker process (tests build their own). */
export function createWorkerDeps(config: Config, logger: Logger, overrides: { clock?: Clock; db?: Db } = {}) {
  const clock = overrides.clock ?? systemClock;
  const db = overrides.db ?? createDb(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, "commands");
  const queues = createQueues({ connection: redis, prefix: config.REDIS_PREFIX });
  const audit = createAuditService({ db, clock });

  async function close() {
    await queues.close();
    redis.disconnect();
    await db.$disconnect();
  }

  return { config, logger, clock, db, redis, queues, audit, close };
}

export type WorkerDeps = ReturnType<typeof createWorkerDeps>;
