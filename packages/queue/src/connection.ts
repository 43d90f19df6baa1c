import { Redis, type RedisOptions } from "ioredis";

export type RedisRole =
  /** Commands from request handlers: fail fast when Redis is down instead of queueing. */
  | "commands"
  /** BullMQ workers and subscribers block; BullMQ requires maxRetriesPerRequest: null. */
  | "blocking";

/** One place that knows how this service talks to Redis. */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions =
    role === "blocking"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2_000 };
  const redis = new Redis(url, {
    ...base,
    lazyConnect: true,
    // Reconnect forever with a capped delay: Redis restarts must not need a process restart.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...extra,
  });
  // Without a listener ioredis prints unhandled errors; callers log state through `readyz`.
  redis.on("error", () => {});
  return redis;
}

/** Resolves when the command answers, rejects after `ms` (used by health checks). */
export async function pingWithin(redis: Redis, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("redis ping timed out")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
