import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { TEST_REDIS_URL } from "./pg-urls.ts";

/** A Redis key prefix of this test file's own, and a way to delete everything under it. */
export function createTestRedisPrefix() {
  const prefix = `vwt-${randomBytes(5).toString("hex")}`;
  async function cleanup() {
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    } finally {
      redis.disconnect();
    }
  }
  return { prefix, url: TEST_REDIS_URL, cleanup };
}
