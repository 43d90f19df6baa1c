import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloneRegisteredClusters } from "../../../bench/support/bulk-clusters.ts";
import { agentHeaders } from "../../../test/support/agent.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { untilAnswered } from "../../../test/support/http-agent.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { startRoundRobinProxy } from "../../../test/support/round-robin-proxy.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// Scale-out, as real processes: three API processes and two workers on one database and one
// Redis prefix, behind a round-robin TCP balancer, with AGENTS simulated agents long-polling
// through it. Every job must reach its agent exactly once (no API process delivers a job another
// one leased), a waiting poll must be woken whichever API process holds it, and when one API
// process is SIGKILLed its pollers must reconnect through the balancer and still get their jobs.
//
// 500 agents, as the issue asks, one registration (argon2) cloned in SQL as bench/ does;
// SCALE_OUT_AGENTS sets another number.
const AGENTS = Number(process.env.SCALE_OUT_AGENTS ?? "500");
const WAIT_SECONDS = 20;
let service: ServiceProcesses;
let proxy: Awaited<ReturnType<typeof startRoundRobinProxy>>;
const apis: ServiceProcess[] = [];
const workers: ServiceProcess[] = [];

beforeAll(async () => {
  service = await startServiceProcesses({
    // Five processes × two pools on a database server other test files share.
    DATABASE_POOL_SIZE: "3",
    LOG_LEVEL: "warn",
  });
  const ports = [Number(service.env.PORT), await freePort(), await freePort()];
  ports.forEach((port, index) => {
    apis.push(
      startProcess(`api-${index}`, "apps/api/src/server.ts", [], { ...service.env, PORT: String(port) }),
    );
  });
  workers.push(
    startProcess("worker-0", "apps/worker/src/main.ts", [], { ...service.env, LOG_LEVEL: "info" }),
  );
  workers.push(
    startProcess("worker-1", "apps/worker/src/main.ts", [], { ...service.env, LOG_LEVEL: "info" }),
  );
  await Promise.all(ports.map((port) => waitForHttp(`http://127.0.0.1:${port}/readyz`, 45_000)));
  await Promise.all(workers.map((worker) => worker.waitFor(/worker started/, 45_000)));
  proxy = await startRoundRobinProxy(ports.map((port) => ({ host: "127.0.0.1", port })));
}, 90_000);

afterAll(async () => {
  await Promise.all([...apis, ...workers].map((process) => process.stop("SIGTERM")));
  await proxy?.close();
  await service?.stop();
}, 60_000);

interface Delivery {
  poller: number;
  at: number;
}

/** Long-polling agents through the balancer: record each delivery with its time, ack, report. */
function startPollers(base: string, agents: { clusterId: string; token: string }[]) {
  const deliveries = new Map<string, Delivery[]>();
  const unexpected: string[] = [];
  let polls = 0;
  let connectionErrors = 0;
  let stopped = false;
  const abort = new AbortController();

  async function poller(index: number, { clusterId, token }: { clusterId: string; token: string }) {
    const headers = agentHeaders(token, false);
    while (!stopped) {
      let jobs: { id: string }[];
      try {
        const response = await fetch(`${base}/api/agent/jobs?cluster=${clusterId}&wait=${WAIT_SECONDS}`, {
          headers,
          signal: abort.signal,
        });
        polls += 1;
        if (response.status !== 200) {
          if (response.status < 500) unexpected.push(`poll ${response.status}`);
          await response.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        jobs = ((await response.json()) as { jobs: { id: string }[] }).jobs;
      } catch {
        if (stopped) return;
        // The API process holding this poll died: reconnect (through the balancer) at once.
        connectionErrors += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const at = performance.now();
      for (const job of jobs) {
        deliveries.set(job.id, [...(deliveries.get(job.id) ?? []), { poller: index, at }]);
        const acked = await untilAnswered(() =>
          fetch(`${base}/api/agent/jobs/${job.id}/ack`, { method: "POST", headers }),
        );
        if (acked !== 204) unexpected.push(`ack ${job.id} ${acked}`);
        const result = await untilAnswered(() =>
          fetch(`${base}/api/agent/jobs/${job.id}/result`, {
            method: "POST",
            headers: agentHeaders(token),
            body: JSON.stringify({ outcome: "succeeded", timestamp: new Date().toISOString() }),
          }),
        );
        if (result !== 204) unexpected.push(`result ${job.id} ${result}`);
      }
    }
  }

  const running = agents.map((agent, index) => poller(index, agent));
  return {
    deliveries,
    unexpected,
    counts: () => ({ polls, connectionErrors }),
    async stop() {
      stopped = true;
      abort.abort();
      await Promise.all(running);
    },
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

describe("scale-out: 3 API processes, 2 workers, one database and Redis prefix, behind a balancer", () => {
  it("delivers every job exactly once, wakes polls on any process, and survives an API process's SIGKILL", async () => {
    const started = performance.now();
    const template = await service.registeredCluster("scale-out template");
    const agents = [
      { clusterId: template.clusterId, token: template.credential },
      ...(await cloneRegisteredClusters(service.db.url, template.clusterId, AGENTS - 1)),
    ];
    const pollers = startPollers(proxy.url, agents);
    // Every agent is waiting in a long-poll, spread over the three processes.
    await eventually(async () => proxy.open.reduce((sum, n) => sum + n, 0) >= AGENTS, 30_000);
    const spread = [...proxy.open];
    expect(spread.every((n) => n >= AGENTS / 3 - 5)).toBe(true);

    const enqueuedAt = new Map<string, { at: number; poller: number }>();
    /** One job for each of `targets`, 16 requests at a time (admin API, through the balancer). */
    async function enqueue(targets: number[], wave: string) {
      const queue = [...targets];
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
            const agent = agents[index] as (typeof agents)[number];
            const at = performance.now();
            const answer = await fetch(`${proxy.url}/api/v1/clusters/${agent.clusterId}/jobs`, {
              method: "POST",
              headers: { authorization: `Bearer ${service.adminKey}`, "content-type": "application/json" },
              body: JSON.stringify({
                kind: "apply",
                payload: {
                  apiVersion: "v1",
                  kind: "ConfigMap",
                  metadata: { name: `${wave}-${index}`, namespace: "default" },
                },
              }),
            });
            expect(answer.status).toBe(202);
            const { id } = (await answer.json()) as { id: string };
            enqueuedAt.set(id, { at, poller: index });
          }
        }),
      );
    }
    const latencies = (ids: string[]) =>
      ids.map((id) => {
        const delivered = pollers.deliveries.get(id)?.[0];
        return (delivered?.at ?? Number.NaN) - (enqueuedAt.get(id)?.at ?? Number.NaN);
      });
    const delivered = (ids: string[]) => ids.every((id) => pollers.deliveries.has(id));

    // Wake-up latency, one job at a time on an idle fleet: request sent → job in the agent's poll.
    const single: string[] = [];
    for (let n = 0; n < 10; n++) {
      await enqueue([(n * 29) % AGENTS], `w0-${n}`);
      const id = [...enqueuedAt.keys()].at(-1) as string;
      single.push(id);
      await eventually(async () => pollers.deliveries.has(id), 10_000);
    }

    // Wave 1: a job for every agent, all three processes up.
    await enqueue(
      agents.map((_, index) => index),
      "w1",
    );
    const wave1 = [...enqueuedAt.keys()].filter((id) => !single.includes(id));
    await eventually(async () => delivered(wave1), 30_000);
    await eventually(async () => (await service.jobStates()).succeeded === AGENTS + 10, 30_000);

    // One API process dies without a word; its held polls are reset and come back through the
    // balancer to the other two.
    const killed = apis[2] as ServiceProcess;
    const heldByKilled = proxy.open[2] ?? 0;
    await killed.stop("SIGKILL");
    await eventually(async () => (proxy.open[2] ?? 0) === 0, 10_000);
    await eventually(async () => (proxy.open[0] ?? 0) + (proxy.open[1] ?? 0) >= AGENTS, 20_000);

    // Wave 2: again a job for every agent — the ones that were on the dead process included.
    await enqueue(
      agents.map((_, index) => index),
      "w2",
    );
    const wave2 = [...enqueuedAt.keys()].filter((id) => !wave1.includes(id) && !single.includes(id));
    await eventually(async () => delivered(wave2), 30_000);
    await eventually(async () => (await service.jobStates()).succeeded === 2 * AGENTS + 10, 30_000);
    await pollers.stop();

    // Exactly once: one delivery per job, to the poller of its own cluster.
    expect(pollers.unexpected).toEqual([]);
    expect(pollers.deliveries.size).toBe(2 * AGENTS + 10);
    for (const [id, deliveries] of pollers.deliveries) {
      expect(deliveries.length, id).toBe(1);
      expect(deliveries[0]?.poller, id).toBe(enqueuedAt.get(id)?.poller);
    }
    for (const process of [apis[0], apis[1], ...workers]) expect(process?.child.exitCode).toBeNull();

    const idle = latencies(single);
    const first = latencies(wave1);
    const second = latencies(wave2);
    const figures = {
      agents: AGENTS,
      spread,
      heldByKilled,
      connectionErrors: pollers.counts().connectionErrors,
      polls: pollers.counts().polls,
      singleMs: { p50: percentile(idle, 50), max: Math.max(...idle) },
      wave1Ms: { p50: percentile(first, 50), p95: percentile(first, 95), max: Math.max(...first) },
      wave2Ms: { p50: percentile(second, 50), p95: percentile(second, 95), max: Math.max(...second) },
      backendConnections: proxy.connections,
      seconds: Math.round((performance.now() - started) / 1000),
    };
    console.info(`scale-out: ${JSON.stringify(figures)}`);
    // Woken, not found by a recheck: well under the poll's hold.
    expect(figures.singleMs.max).toBeLessThan(5_000);
    expect(figures.wave1Ms.p95).toBeLessThan(WAIT_SECONDS * 1000);
    expect(figures.wave2Ms.p95).toBeLessThan(WAIT_SECONDS * 1000);
    expect(heldByKilled).toBeGreaterThan(AGENTS / 3 - 10);
  }, 240_000);
});
