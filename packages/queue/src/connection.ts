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
      : // A command gets its answer within 2 s or fails: a Redis that stopped answering (a
        // partition, a half-open connection) must not hold a request for longer.
        { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2_000, commandTimeout: 2_000 };
  const redis = new Redis(url, {
    ...base,
    // Command connections open on first use, so a process that never needs Redis never talks to
    // it. Blocking ones (BullMQ workers, subscribers) connect at once: BullMQ duplicates them, and
    // on a lazy duplicate it calls connect() itself and leaves that promise's rejection
    // unhandled, which ends the process when Redis is down at that moment.
    lazyConnect: role === "commands",
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

/**
 * Starts a lazy connection connecting, its failures left to the reconnect loop. Needed before
 * BullMQ gets the connection, for the reason given in `createRedis`.
 */
export function connectInBackground(redis: Redis): Redis {
  if (redis.status === "wait") redis.connect().catch(() => {});
  return redis;
}

/**
 * Resolves once Redis answers PING, retrying for as long as it takes (a process started before
 * Redis waits for it rather than dying); `onWaiting` hears why, at first and then every `everyMs`.
 */
export async function waitForRedis(redis: Redis, onWaiting: (reason: string) => void, everyMs = 10_000) {
  let lastReported = 0;
  // The command's own error only says it gave up ("Reached the max retries per request limit");
  // the connection's last error says why (connect ECONNREFUSED 127.0.0.1:6379, WRONGPASS, …).
  let connectionError: Error | undefined;
  const remember = (error: Error) => {
    connectionError = error;
  };
  redis.on("error", remember);
  try {
    for (;;) {
      try {
        await pingWithin(redis, 2_000);
        return;
      } catch (error) {
        if (Date.now() - lastReported >= everyMs) {
          lastReported = Date.now();
          const reason = connectionError ?? (error instanceof Error ? error : new Error(String(error)));
          onWaiting(reason.message.split("\n")[0] ?? reason.message);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } finally {
    redis.off("error", remember);
  }
}

/** The reason Redis at `url` cannot be used, or null when it answers PING. */
export async function probeRedis(url: string, timeoutMs = 2_000): Promise<string | null> {
  let connectionError: Error | undefined;
  const redis = createRedis(url, "commands", { retryStrategy: () => null, connectTimeout: timeoutMs });
  redis.on("error", (error: Error) => {
    connectionError = error;
  });
  try {
    await pingWithin(redis, timeoutMs);
    return null;
  } catch (error) {
    const reason = connectionError ?? (error as Error);
    return reason.message.split("\n")[0] ?? reason.message;
  } finally {
    redis.disconnect();
  }
}
