import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import {
  createRedisFleet,
  type RedisFleet,
  type RedisServer,
  sentinelMaster,
} from "../../../test/support/redis-servers.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// API and worker as real processes on a Sentinel-managed Redis (a master, a replica, three
// sentinels): they find the master through the sentinels, follow a manual failover and then the
// master's death, never exit, and every job requested before, between and after is delivered.
const NAME = "vwksp-test";
let fleet: RedisFleet;
let service: ServiceProcesses;
let first: RedisServer;
let second: RedisServer;
let sentinels: RedisServer[];

beforeAll(async () => {
  fleet = await createRedisFleet();
  first = await fleet.server();
  second = await fleet.server({ replicaOf: first.port });
  sentinels = await Promise.all([0, 1, 2].map(() => fleet.sentinel(NAME, first.port, 2)));
  // The sentinels know the replica and each other before anything fails.
  await eventually(async () => {
    const replicas = (await sentinels[0]?.client.call("SENTINEL", "REPLICAS", NAME)) as string[][];
    const info = await second.client.info("replication");
    return replicas.length === 1 && info.includes("master_link_status:up");
  }, 20_000);
  service = await startServiceProcesses({
    // Only the credentials of REDIS_URL count with sentinels: its host leads nowhere.
    REDIS_URL: "redis://unused.invalid:6379",
    REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(","),
    REDIS_SENTINEL_NAME: NAME,
  });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await fleet?.stop();
}, 60_000);

describe("Redis Sentinel", () => {
  it("follows a failover and the master's death without a restart, and loses no job", async () => {
    const { api, worker } = await service.startBoth();
    const agent = await service.registeredCluster("sentinel");
    const running = startHttpAgents(service.base, [agent]);
    let n = 0;
    const enqueue = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const answer = await service.admin("POST", `/api/v1/clusters/${agent.clusterId}/jobs`, {
          kind: "apply",
          payload: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `cm-${n}`, namespace: "default" },
          },
        });
        expect(answer.status).toBe(202);
      }
    };
    const allSucceeded = (total: number) =>
      eventually(async () => (await service.jobStates()).succeeded === total, 30_000).catch(async () => {
        throw new Error(`job states: ${JSON.stringify(await service.jobStates())}`);
      });
    const bullKeys = (server: RedisServer) => server.client.keys(`${service.env.REDIS_PREFIX}:bull:*`);

    await enqueue(5);
    await allSucceeded(5);
    expect((await bullKeys(first)).length).toBeGreaterThan(0);

    // A manual failover: the replica becomes the master, the old master its replica.
    const failoverAt = Date.now();
    await sentinels[0]?.client.call("SENTINEL", "FAILOVER", NAME);
    await eventually(
      async () => (await sentinelMaster(sentinels[0] as RedisServer, NAME)) === second.port,
      20_000,
    );
    const switchedMs = Date.now() - failoverAt;
    // Jobs requested as soon as the sentinels name the new master.
    await enqueue(5);
    await allSucceeded(10);
    const afterFailoverMs = Date.now() - failoverAt;
    // The queues now live on the new master.
    expect((await second.client.info("replication")).includes("role:master")).toBe(true);
    expect((await bullKeys(second)).length).toBeGreaterThan(0);
    // The sentinels reconfigure the old master as its replica on their next round (about 10 s);
    // only then can it be promoted again.
    await eventually(async () => (await first.client.info("replication")).includes("role:slave"), 40_000);
    await eventually(
      async () => (await first.client.info("replication")).includes("master_link_status:up"),
      20_000,
    );
    const demotedMs = Date.now() - failoverAt;

    // The master dies (SIGKILL): the sentinels promote the old master back.
    const killedAt = Date.now();
    await second.kill("SIGKILL");
    await eventually(
      async () => (await sentinelMaster(sentinels[0] as RedisServer, NAME)) === first.port,
      30_000,
    );
    const promotedMs = Date.now() - killedAt;
    await enqueue(5);
    await allSucceeded(15);
    const afterKillMs = Date.now() - killedAt;
    console.info(
      `redis sentinel: manual failover switched in ${switchedMs} ms (old master a replica after ${demotedMs} ms), 5 jobs requested after it succeeded ${afterFailoverMs} ms after it; master SIGKILLed: promoted in ${promotedMs} ms, 5 more jobs succeeded ${afterKillMs} ms after the kill`,
    );

    await running.stop();
    expect(running.unexpected).toEqual([]);
    // One result per job: nothing delivered twice.
    expect([...running.results.values()].every((statuses) => statuses.length === 1)).toBe(true);
    expect(running.results.size).toBe(15);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    expect(api.text() + worker.text()).not.toMatch(/uncaught|unhandled/i);
  }, 150_000);
});
