import type { AgentJob } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import { createWaiters } from "../src/agent/long-poll-waiters.ts";

const job = (id: string): AgentJob => ({
  id,
  kind: "apply",
  payload: {},
  idempotencyKey: id,
  createdAt: "2026-11-27T00:00:00.000Z",
  expiresAt: "2026-11-27T01:00:00.000Z",
});

const silent = { warn: () => {} } as never;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A claim that takes `ms` and hands out the queued jobs once. */
function slowClaim(ms: number, jobs: AgentJob[]) {
  return async () => {
    await sleep(ms);
    return jobs.splice(0);
  };
}

describe("long-poll waiters", () => {
  it("answers a poll whose wait runs out during a claim with the claimed jobs, not an empty list", async () => {
    const released: string[] = [];
    const hub = createWaiters({
      claim: slowClaim(150, [job("j-1")]),
      release: async (_cluster, ids) => void released.push(...ids),
      claimableAmong: async () => [],
      logger: silent,
    });
    const answer = hub.wait("c", 0.05).jobs;
    void hub.wake("c");
    expect((await answer).map((j) => j.id)).toEqual(["j-1"]);
    expect(released).toEqual([]);
    expect(hub.stats().waiters).toBe(0);
    hub.close();
  });

  it("releases jobs claimed for a client that went away during the claim", async () => {
    const released: string[] = [];
    const hub = createWaiters({
      claim: slowClaim(100, [job("j-2"), job("j-3")]),
      release: async (_cluster, ids) => void released.push(...ids),
      claimableAmong: async () => [],
      logger: silent,
    });
    const waiting = hub.wait("c", 30);
    const woken = hub.wake("c");
    await sleep(20);
    waiting.leave();
    expect(await waiting.jobs).toEqual([]);
    await woken;
    expect(released).toEqual(["j-2", "j-3"]);
    expect(hub.stats().waiters).toBe(0);
    hub.close();
  });

  it("hands jobs to the next waiter of the cluster when several wait", async () => {
    const queue = [job("j-4")];
    const hub = createWaiters({
      claim: async () => queue.splice(0, 1),
      release: async () => {},
      claimableAmong: async () => [],
      logger: silent,
    });
    const first = hub.wait("c", 30).jobs;
    const second = hub.wait("c", 0.2).jobs;
    await hub.wake("c");
    expect((await first).map((j) => j.id)).toEqual(["j-4"]);
    expect(await second).toEqual([]);
    hub.close();
  });

  it("answers every waiting poll with [] on close", async () => {
    const hub = createWaiters({
      claim: async () => [],
      release: async () => {},
      claimableAmong: async () => [],
      logger: silent,
    });
    const polls = [hub.wait("a", 60).jobs, hub.wait("b", 60).jobs];
    hub.close();
    expect(await Promise.all(polls)).toEqual([[], []]);
    expect(await hub.wait("a", 60).jobs).toEqual([]);
  });
});
