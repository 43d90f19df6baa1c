import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { loadConfig, redisHashTag, redisUnreachable } from "../../core/src/index.ts";
import { createRedis, describeRedisTarget, parseHostPortList, redisTarget } from "../src/connection.ts";

// Which Redis the service talks to, from its settings: one server, a master behind Sentinel, or
// a Redis Cluster (the real failover and cluster flows: apps/worker/test/redis-*.test.ts).

describe("Redis topology settings", () => {
  it("reads sentinels and cluster nodes as host:port lists, and refuses anything else", () => {
    expect(parseHostPortList("10.0.0.1:26379, sentinel-b:26379,[::1]:26380")).toEqual([
      { host: "10.0.0.1", port: 26379 },
      { host: "sentinel-b", port: 26379 },
      { host: "::1", port: 26380 },
    ]);
    for (const bad of ["host", "host:0", "host:70000", "a:1,b", ":1"]) {
      expect(() => parseHostPortList(bad), bad).toThrow();
      expect(() => loadConfig({ REDIS_SENTINELS: bad, REDIS_SENTINEL_NAME: "m" }), bad).toThrow(
        /REDIS_SENTINELS: must be host:port/,
      );
    }
  });

  it("needs the master's name with sentinels, one topology at a time, and a hash-tagged prefix on a cluster", () => {
    expect(() => loadConfig({ REDIS_SENTINELS: "s:26379" })).toThrow(/REDIS_SENTINEL_NAME: required/);
    expect(() =>
      loadConfig({ REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: "m", REDIS_CLUSTER_NODES: "n:6379" }),
    ).toThrow(/either REDIS_SENTINELS or REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "n:6379" })).toThrow(
      /REDIS_PREFIX: must carry a hash tag .*\{vwksp\}/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: "n:6379", REDIS_PREFIX: "{}x" })).toThrow(/hash tag/);
    expect(loadConfig({ REDIS_CLUSTER_NODES: "n:6379", REDIS_PREFIX: "{vwksp}" }).REDIS_PREFIX).toBe(
      "{vwksp}",
    );
    expect(redisHashTag("{vwksp}:bull:dispatch:wait")).toBe("vwksp");
    expect(redisHashTag("prod-{vwksp}")).toBe("vwksp");
    expect(redisHashTag("{}vwksp")).toBeUndefined();
    expect(redisHashTag("vwksp")).toBeUndefined();
    // The sentinels' password is never echoed back.
    expect(() => loadConfig({ REDIS_SENTINELS: "s:1", REDIS_SENTINEL_PASSWORD: "hunter2-secret" })).toThrow(
      /^(?![\s\S]*hunter2)/,
    );
  });

  it("builds the target, and describes it without a password", () => {
    const sentinel = redisTarget(
      loadConfig({
        REDIS_URL: "redis://app:pw@ignored:6379/2",
        REDIS_SENTINELS: "a:26379,b:26379",
        REDIS_SENTINEL_NAME: "main",
        REDIS_SENTINEL_PASSWORD: "spw",
      }),
    );
    expect(sentinel).toEqual({
      url: "redis://app:pw@ignored:6379/2",
      sentinels: [
        { host: "a", port: 26379 },
        { host: "b", port: 26379 },
      ],
      sentinelName: "main",
      sentinelPassword: "spw",
    });
    expect(describeRedisTarget(sentinel)).toBe('master "main" via sentinels a:26379,b:26379');
    const cluster = redisTarget(
      loadConfig({ REDIS_CLUSTER_NODES: "n1:7000,n2:7001", REDIS_PREFIX: "{vwksp}" }),
    );
    expect(describeRedisTarget(cluster)).toBe("cluster n1:7000,n2:7001");
    expect(redisTarget(loadConfig({}))).toEqual({ url: "redis://127.0.0.1:6379" });
    expect(describeRedisTarget("redis://u:secret@h:6379")).toBe("redis://u@h:6379");
    expect(redisUnreachable(describeRedisTarget(sentinel), "timeout")).toContain("REDIS_SENTINELS");
    expect(redisUnreachable("redis://h:6379", "timeout")).toContain("REDIS_URL right?");
  });

  it("makes a Sentinel client with the URL's credentials, or a Cluster client, per role", () => {
    const sentinel = createRedis(
      {
        url: "rediss://app:pw@ignored:6379/2",
        sentinels: [{ host: "127.0.0.1", port: 1 }],
        sentinelName: "main",
        sentinelPassword: "spw",
      },
      "commands",
    );
    expect(sentinel).toBeInstanceOf(Redis);
    expect(sentinel.options).toMatchObject({
      sentinels: [{ host: "127.0.0.1", port: 1 }],
      name: "main",
      sentinelPassword: "spw",
      username: "app",
      password: "pw",
      db: 2,
      tls: {},
      enableTLSForSentinelMode: true,
      failoverDetector: true,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
    });
    expect(
      sentinel.options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")),
    ).toBe(2);
    expect(sentinel.options.reconnectOnError?.(new Error("ERR other"))).toBe(false);
    sentinel.disconnect();

    const blocking = createRedis(
      { url: "redis://:pw@ignored:6379", clusterNodes: [{ host: "127.0.0.1", port: 1 }] },
      "blocking",
    ) as unknown as Cluster;
    expect(blocking).toBeInstanceOf(Cluster);
    // BullMQ reads maxRetriesPerRequest of a Cluster's redisOptions: null for blocking connections.
    expect(blocking.options.redisOptions).toMatchObject({ password: "pw", maxRetriesPerRequest: null });
    expect(blocking.options.lazyConnect).toBe(false);
    expect(blocking.options.clusterRetryStrategy?.(3, new Error("down"))).toBe(600);
    blocking.disconnect();
  });
});
