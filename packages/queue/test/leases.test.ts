import { afterAll, describe, expect, it } from "vitest";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";
import { createRedis } from "../src/connection.ts";
import { createLeases } from "../src/leases.ts";

const space = createTestRedisPrefix();
const redis = createRedis(space.url, "commands");

afterAll(async () => {
  redis.disconnect();
  await space.cleanup();
});

const leasesOf = (holder: string, ttlMs = 400) =>
  createLeases({ redis, prefix: space.prefix, name: "push-watch", ttlMs, holder });

describe("Redis leases", () => {
  it("one holder at a time; only the holder renews or releases", async () => {
    const a = leasesOf("worker-a");
    const b = leasesOf("worker-b");
    expect(await a.acquire("c1")).toBe(true);
    expect(await b.acquire("c1")).toBe(false);
    expect(await a.acquire("c1")).toBe(true); // the holder taking it again renews it
    expect(await b.renew("c1")).toBe(false);
    await b.release("c1");
    expect(await b.acquire("c1")).toBe(false);
    await a.release("c1");
    expect(await b.acquire("c1")).toBe(true);
  });

  it("a lease not renewed runs out and another holder takes it; the former holder cannot renew it", async () => {
    const a = leasesOf("worker-a", 200);
    const b = leasesOf("worker-b", 200);
    expect(await a.acquire("c2")).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await b.acquire("c2")).toBe(true);
    expect(await a.renew("c2")).toBe(false);
  });

  it("counts the live holders; a holder that stops announcing drops out", async () => {
    const a = leasesOf("worker-a", 200);
    const b = leasesOf("worker-b", 200);
    await a.announce();
    expect(await b.announce()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await b.announce()).toBe(1);
    await b.withdraw();
    expect(await a.announce()).toBe(1);
  });
});
