import { describe, expect, it } from "vitest";
import { TEST_REDIS_URL } from "../../../test/support/pg-urls.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";
import { parsePayload } from "../src/catalog.ts";
import { createRedis } from "../src/connection.ts";
import { withTimeout } from "../src/producers.ts";

describe("job catalog", () => {
  it("validates payloads by queue and job name", () => {
    expect(parsePayload("dispatch", "dispatch-job", { jobId: "j-1" })).toEqual({ jobId: "j-1" });
    expect(() => parsePayload("odoo-sync", "push-cluster", { clusterId: "not-a-uuid" })).toThrow();
    expect(() => parsePayload("odoo-sync", "pull-record", { odooId: -1 })).toThrow();
  });
});

describe("withTimeout", () => {
  it("gives up on work that never settles, and passes through work that does", async () => {
    await expect(withTimeout(new Promise(() => {}), 20, "stuck")).rejects.toThrow(
      /stuck timed out after 20 ms/,
    );
    await expect(withTimeout(Promise.resolve(7), 1_000, "quick")).resolves.toBe(7);
    await expect(withTimeout(Promise.reject(new Error("boom")), 1_000, "failing")).rejects.toThrow("boom");
  });
});

describe("a command connection to a Redis that stopped answering", () => {
  it("fails each command within 2 s instead of waiting, and works again once Redis answers", async () => {
    const server = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 6379) });
    const redis = createRedis(`redis://127.0.0.1:${proxy.port}`, "commands");
    try {
      expect(await redis.ping()).toBe("PONG");
      proxy.stall();
      const started = performance.now();
      await expect(redis.publish("vwt-partition", "x")).rejects.toThrow(/Command timed out/);
      expect(performance.now() - started).toBeLessThan(3_000);
      await proxy.restore();
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
      await proxy.close();
    }
  });
});
