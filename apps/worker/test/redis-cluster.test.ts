import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import { createRedisFleet, type RedisFleet, type RedisServer } from "../../../test/support/redis-servers.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// API and worker as real processes on a real three-master Redis Cluster, while MONITOR on every
// node records each command they send (and each command BullMQ's Lua scripts run). Every key they
// touch — found by the server itself with COMMAND GETKEYS — must hash to the slot of the
// prefix's hash tag, and every pub/sub channel must carry the prefix: BullMQ's multi-key scripts,
// the limiter's pipeline and MGET cannot cross slots.
const PREFIX = "{vwt-cluster}";
let fleet: RedisFleet;
let nodes: RedisServer[];
let service: ServiceProcesses;

interface Seen {
  node: number;
  source: string;
  args: string[];
}
const seen: Seen[] = [];
const monitors: { disconnect(): void }[] = [];

beforeAll(async () => {
  fleet = await createRedisFleet();
  nodes = await fleet.cluster(3);
  for (const [index, node] of nodes.entries()) {
    const monitor = await node.client.duplicate().monitor();
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      seen.push({ node: index, source, args });
    });
    monitors.push(monitor);
  }
  service = await startServiceProcesses({
    REDIS_URL: "redis://unused.invalid:6379",
    REDIS_CLUSTER_NODES: nodes.map((node) => `127.0.0.1:${node.port}`).join(","),
    REDIS_PREFIX: PREFIX,
  });
}, 60_000);

afterAll(async () => {
  for (const monitor of monitors) monitor.disconnect();
  await service?.stop();
  await fleet?.stop();
}, 60_000);

/** Commands that carry channels, not keys. */
const CHANNEL_COMMANDS = new Set([
  "publish",
  "subscribe",
  "unsubscribe",
  "psubscribe",
  "spublish",
  "ssubscribe",
]);

describe("Redis Cluster", () => {
  it("runs a whole flow with every key in the prefix's slot and every channel under the prefix", async () => {
    const { api, worker } = await service.startBoth();
    const agents = [
      await service.registeredCluster("cluster a"),
      await service.registeredCluster("cluster b"),
    ];
    const running = startHttpAgents(service.base, agents);
    for (let n = 0; n < 10; n++) {
      const { clusterId } = agents[n % 2] as (typeof agents)[number];
      const answer = await service.admin("POST", `/api/v1/clusters/${clusterId}/jobs`, {
        kind: "apply",
        payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${n}`, namespace: "default" } },
      });
      expect(answer.status).toBe(202);
    }
    await eventually(async () => (await service.jobStates()).succeeded === 10, 30_000);
    // The failure limiter (INCR pipeline, MGET): wrong agent credentials and registration tokens.
    for (let i = 0; i < 3; i++) {
      const poll = await fetch(`${service.base}/api/agent/jobs?cluster=${agents[0]?.clusterId}&wait=0`, {
        headers: agentHeaders(`vwksp-agt-${"0".repeat(64)}`, false),
      });
      expect(poll.status).toBe(401);
      const register = await fetch(`${service.base}/api/agent/register`, {
        method: "POST",
        headers: agentHeaders(`vwksp-reg-${"0".repeat(64)}`),
        body: JSON.stringify({ registrationToken: `vwksp-reg-${"0".repeat(64)}` }),
      });
      expect([401, 403]).toContain(register.status);
    }
    // An admin key revoked: the invalidation channel.
    const key = await service.admin<{ id: string }>("POST", "/api/v1/api-keys", {
      name: "short-lived",
      scopes: ["clusters:read"],
    });
    if (key.status === 201) await service.admin("DELETE", `/api/v1/api-keys/${key.body.id}`);
    await running.stop();
    expect(running.unexpected).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const commands = seen.splice(0);
    const probe = nodes[0] as RedisServer;
    const keys = new Map<string, number>();
    const channels = new Set<string>();
    const checked = new Set<string>();
    for (const { args } of commands) {
      const name = (args[0] ?? "").toLowerCase();
      if (CHANNEL_COMMANDS.has(name)) {
        if (name === "publish" || name === "spublish") channels.add(args[1] as string);
        else for (const channel of args.slice(1)) channels.add(channel);
        continue;
      }
      const signature = JSON.stringify(args);
      if (checked.has(signature)) continue;
      checked.add(signature);
      let found: string[] = [];
      try {
        found = (await probe.client.call("COMMAND", "GETKEYS", ...args)) as string[];
      } catch {
        // No key arguments (PING, INFO, CLIENT, CLUSTER, EVALSHA with 0 keys…).
      }
      for (const key of found) {
        if (!keys.has(key)) keys.set(key, Number(await probe.client.call("CLUSTER", "KEYSLOT", key)));
      }
    }
    const slot = Number(await probe.client.call("CLUSTER", "KEYSLOT", PREFIX));
    // What was touched, by shape: ids and numbers folded.
    const shapes = new Set(
      [...keys.keys()].map((key) =>
        key
          .replace(/:j-[A-Za-z0-9]+/g, ":<job>")
          .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, "<uuid>")
          .replace(/\d+/g, "<n>")
          .replace(/:a:[^:]+$/, ":a:<address>")
          .replace(/:i:[^:]+$/, ":i:<identity>"),
      ),
    );
    expect(keys.size).toBeGreaterThan(10);
    expect([...shapes].some((shape) => shape.startsWith(`${PREFIX}:bull:dispatch:`))).toBe(true);
    expect([...shapes].some((shape) => shape.startsWith(`${PREFIX}:authfail:`))).toBe(true);
    for (const [key, keySlot] of keys) {
      expect(key.startsWith(`${PREFIX}:`), key).toBe(true);
      expect(keySlot, key).toBe(slot);
    }
    expect(channels.size).toBeGreaterThan(0);
    for (const channel of channels) expect(channel.startsWith(`${PREFIX}:`), channel).toBe(true);
    expect([...channels]).toEqual(expect.arrayContaining([`${PREFIX}:jobs-ready`]));
    // All the keyed commands went to the one node that owns the slot.
    const owners = new Set(
      commands
        .filter(
          ({ args }) =>
            (args[0] ?? "").toLowerCase().startsWith("evalsha") || args[0]?.toLowerCase() === "incr",
        )
        .map(({ node }) => node),
    );
    expect(owners.size).toBe(1);
    expect(api.text() + worker.text()).not.toMatch(/CROSSSLOT|MOVED|uncaught|unhandled/i);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    console.info(
      `redis cluster: ${commands.length} commands, ${keys.size} keys in slot ${slot}, ${channels.size} channels; shapes:\n  ${[...shapes].sort().join("\n  ")}`,
    );
  }, 120_000);
});
