import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Leases in Redis: who owns a thing (the watches of one push cluster) for a while. Taken with
 * `SET NX PX`, renewed and released only by their holder (compare-and-set scripts), so a worker
 * that died loses its leases when they run out, and two workers never hold the same one.
 * Live workers announce themselves in a sorted set (score: when the announcement runs out), so
 * each can take its share.
 */
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  redis: Redis;
  prefix: string;
  /** What the leases are for, part of their keys (e.g. `push-watch`). */
  name: string;
  /** A lease not renewed for this long is free for another holder. */
  ttlMs: number;
  /** This holder's id (random by default). */
  holder?: string;
}

export function createLeases({ redis, prefix, name, ttlMs, holder = randomUUID() }: LeaseOptions) {
  const keyOf = (id: string) => `${prefix}:lease:${name}:${id}`;
  const membersKey = `${prefix}:lease:${name}:holders`;

  return {
    holder,
    /** Takes the lease if nobody holds it (or this holder does: then renews it). */
    async acquire(id: string): Promise<boolean> {
      const taken = await redis.set(keyOf(id), holder, "PX", ttlMs, "NX");
      if (taken === "OK") return true;
      return (await redis.eval(RENEW, 1, keyOf(id), holder, String(ttlMs))) === 1;
    },
    /** Extends a held lease; false when it was lost (ran out, taken by another holder). */
    async renew(id: string): Promise<boolean> {
      return (await redis.eval(RENEW, 1, keyOf(id), holder, String(ttlMs))) === 1;
    },
    async release(id: string): Promise<void> {
      await redis.eval(RELEASE, 1, keyOf(id), holder);
    },
    /** Announces this holder alive for ttlMs and answers how many holders are alive. */
    async announce(now = Date.now()): Promise<number> {
      await redis
        .multi()
        .zadd(membersKey, now + ttlMs, holder)
        .zremrangebyscore(membersKey, "-inf", now)
        .exec();
      return Math.max(1, await redis.zcard(membersKey));
    },
    /** Leaves the holders' set (a clean shutdown: others take the share at once). */
    async withdraw(): Promise<void> {
      await redis.zrem(membersKey, holder);
    },
  };
}

export type Leases = ReturnType<typeof createLeases>;
