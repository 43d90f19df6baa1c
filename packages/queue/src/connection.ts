import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

export type RedisRole =
  /** Commands from request handlers: fail fast when Redis is down instead of queueing. */
  | "commands"
  /** BullMQ workers and subscribers block; BullMQ requires maxRetriesPerRequest: null. */
  | "blocking";

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Which Redis the service talks to: one server (`url`), a master found through Sentinel, or a
 * Redis Cluster. With Sentinel or Cluster, `url` still carries the user, password, database and
 * TLS (`rediss://`) of the data connections; its host is not used.
 */
export interface RedisTarget {
  url: string;
  sentinels?: HostPort[] | undefined;
  /** The master's name as the sentinels know it (`sentinel monitor <name> …`). */
  sentinelName?: string | undefined;
  sentinelPassword?: string | undefined;
  /** TLS to the sentinels themselves, with the data connections' TLS options. */
  sentinelTls?: boolean | undefined;
  clusterNodes?: HostPort[] | undefined;
}

/** The settings `redisTarget` reads (packages/core's config). */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_SENTINELS?: string | undefined;
  REDIS_SENTINEL_NAME?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
  REDIS_SENTINEL_TLS?: boolean | undefined;
  REDIS_CLUSTER_NODES?: string | undefined;
}

/** `host:port,host:port` (IPv6 as `[::1]:26379`); throws on anything else. */
export function parseHostPortList(value: string): HostPort[] {
  return value
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[3]);
      if (!match || port < 1 || port > 65_535) throw new Error(`"${entry}" is not host:port`);
      return { host: (match[1] ?? match[2]) as string, port };
    });
}

export function redisTarget(settings: RedisSettings): RedisTarget {
  const sentinels = settings.REDIS_SENTINELS ? parseHostPortList(settings.REDIS_SENTINELS) : [];
  const clusterNodes = settings.REDIS_CLUSTER_NODES ? parseHostPortList(settings.REDIS_CLUSTER_NODES) : [];
  return {
    url: settings.REDIS_URL,
    ...(sentinels.length > 0
      ? {
          sentinels,
          sentinelName: settings.REDIS_SENTINEL_NAME,
          sentinelPassword: settings.REDIS_SENTINEL_PASSWORD,
          ...(settings.REDIS_SENTINEL_TLS ? { sentinelTls: true } : {}),
        }
      : {}),
    ...(clusterNodes.length > 0 ? { clusterNodes } : {}),
  };
}

const hostList = (nodes: HostPort[]) =>
  nodes.map(({ host, port }) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)).join(",");

/** For logs and messages: where the service looks for Redis, without any password. */
export function describeRedisTarget(target: RedisTarget | string): string {
  const { url, sentinels, sentinelName, sentinelTls, clusterNodes } =
    typeof target === "string" ? { url: target } : target;
  if (sentinels?.length)
    return `master "${sentinelName}" via sentinels ${hostList(sentinels)}${sentinelTls ? " (TLS)" : ""}`;
  if (clusterNodes?.length) return `cluster ${hostList(clusterNodes)}`;
  try {
    const parsed = new URL(url);
    parsed.password = "";
    parsed.search = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(an unparsable URL)";
  }
}

/** What the URL says about the data connections, whatever the topology. */
function urlOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = Number(parsed.pathname.slice(1) || "0");
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/**
 * A master demoted to a replica by a failover answers writes with READONLY until the
 * connection is remade; remaking it asks the sentinels for the new master (and resends the command).
 */
const reconnectOnReadOnly = (error: Error) => (error.message.startsWith("READONLY") ? 2 : false);

/**
 * One place that knows how this service talks to Redis: a single server, a Sentinel-managed
 * master or a Redis Cluster. A Cluster client is returned as `Redis`: it answers the same
 * commands, and every key and channel this service uses carries the prefix's hash tag, so
 * multi-key commands and BullMQ's scripts stay within one slot (config: REDIS_PREFIX).
 */
export function createRedis(target: RedisTarget | string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const resolved: RedisTarget = typeof target === "string" ? { url: target } : target;
  const base: RedisOptions =
    role === "blocking"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : // A command gets its answer within 2 s or fails: a Redis that stopped answering (a
        // partition, a half-open connection) must not hold a request for longer.
        { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2_000, commandTimeout: 2_000 };
  const options: RedisOptions = {
    ...base,
    // Command connections open on first use, so a process that never needs Redis never talks to
    // it. Blocking ones (BullMQ workers, subscribers) connect at once: BullMQ duplicates them, and
    // on a lazy duplicate it calls connect() itself and leaves that promise's rejection
    // unhandled, which ends the process when Redis is down at that moment.
    lazyConnect: role === "commands",
    // Reconnect forever with a capped delay: Redis restarts must not need a process restart.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...extra,
  };
  let redis: Redis;
  if (resolved.clusterNodes?.length) {
    const { lazyConnect, retryStrategy, enableOfflineQueue, enableReadyCheck, ...nodeOptions } = options;
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...urlOptions(resolved.url), ...nodeOptions },
      ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(enableReadyCheck !== undefined ? { enableReadyCheck } : {}),
      // The same capped reconnect loop when the whole cluster is away (null: give up, as asked).
      clusterRetryStrategy: (attempt) => (retryStrategy ? (retryStrategy(attempt) ?? null) : null),
      // A failover moves slots: ask again for the slot map rather than fail the command.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 500,
      slotsRefreshTimeout: 2_000,
    };
    redis = new Cluster(resolved.clusterNodes, clusterOptions) as unknown as Redis;
  } else if (resolved.sentinels?.length) {
    const dataOptions = { ...urlOptions(resolved.url), ...options };
    redis = new Redis({
      ...dataOptions,
      sentinels: resolved.sentinels,
      name: resolved.sentinelName ?? "mymaster",
      ...(resolved.sentinelPassword ? { sentinelPassword: resolved.sentinelPassword } : {}),
      // The sentinels announce a failover (+switch-master): reconnect to the new master at once
      // instead of when the old one stops answering.
      failoverDetector: true,
      sentinelRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      // rediss:// — TLS to the master; REDIS_SENTINEL_TLS — to the sentinels too.
      ...(resolved.url.startsWith("rediss:") ? { enableTLSForSentinelMode: true } : {}),
      ...(resolved.sentinelTls ? { sentinelTLS: dataOptions.tls ?? {} } : {}),
      reconnectOnError: reconnectOnReadOnly,
    });
  } else {
    redis = new Redis(resolved.url, options);
  }
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

/** The reason Redis at `target` cannot be used, or null when it answers PING. */
export async function probeRedis(target: RedisTarget | string, timeoutMs = 2_000): Promise<string | null> {
  let connectionError: Error | undefined;
  const redis = createRedis(target, "commands", { retryStrategy: () => null, connectTimeout: timeoutMs });
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
