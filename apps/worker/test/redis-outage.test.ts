import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import { TEST_REDIS_URL } from "../../../test/support/pg-urls.ts";
import { waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";

// API and worker reach Redis through a proxy the test cuts: an outage of Redis as the processes
// see it. They must stay up, answer every request with its contract status (never a 500), keep
// every job requested meanwhile, and deliver all of it once Redis is back.
const redisTarget = new URL(TEST_REDIS_URL);
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let service: ServiceProcesses;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) });
  const url = new URL(TEST_REDIS_URL);
  url.port = String(proxy.port);
  service = await startServiceProcesses({ REDIS_URL: url.toString() });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await proxy?.close();
}, 60_000);

describe("a Redis outage", () => {
  it("keeps API and worker up and loses no job requested while Redis is away", async () => {
    // The worker starts while Redis is unreachable: it waits for Redis, it does not die.
    await proxy.cut();
    const api = service.start("api");
    const worker = service.start("worker");
    await worker.waitFor(/waiting for Redis/);
    await proxy.restore();
    await worker.waitFor(/worker started/);
    await waitForHttp(`${service.base}/readyz`);

    const agents = [await service.registeredCluster("outage a"), await service.registeredCluster("outage b")];
    const running = startHttpAgents(service.base, agents);
    const enqueue = async (n: number) => {
      const { clusterId } = agents[n % agents.length] as (typeof agents)[number];
      return service.admin<{ id: string; error?: string }>("POST", `/api/v1/clusters/${clusterId}/jobs`, {
        kind: "apply",
        payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${n}`, namespace: "default" } },
      });
    };
    for (let n = 0; n < 10; n++) expect((await enqueue(n)).status).toBe(202);
    await eventually(async () => (await service.jobStates()).succeeded === 10, 20_000);

    // Redis goes away with both processes running.
    await proxy.cut();
    const ready = await fetch(`${service.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("retry-after")).not.toBeNull();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(10 + i)));
    // Each request is accepted (the job row is the source of truth; the reconciler hands it to
    // BullMQ later) or refused as retryable, never a 500 — and an accepted job is never lost.
    for (const answer of during) expect([202, 503], JSON.stringify(answer.body)).toContain(answer.status);
    const accepted = during.filter((answer) => answer.status === 202).length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    // Back: the worker hands the jobs requested meanwhile to BullMQ at once (the periodic
    // reconcile alone would take up to 30 s more).
    await proxy.restore();
    await worker.waitFor(/Redis is back/);
    const states = await eventually(async () => {
      const now = await service.jobStates();
      return now.succeeded === 10 + accepted ? now : undefined;
    }, 20_000).catch(service.jobStates);
    await running.stop();
    expect(states).toEqual({ succeeded: 10 + accepted });
    expect(running.unexpected).toEqual([]);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  }, 150_000);
});
