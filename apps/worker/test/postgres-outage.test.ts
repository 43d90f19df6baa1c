import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import { adminUrl } from "../../../test/support/pg-urls.ts";
import { waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";

// API and worker reach PostgreSQL through a proxy the test cuts: the database goes away in the
// middle of the work, every connection reset. Both processes must stay up, answer 503 with
// Retry-After (never a 500), and once PostgreSQL is back finish every job they accepted.
const server = new URL(adminUrl());
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let service: ServiceProcesses;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  service = await startServiceProcesses({}, { databaseVia: proxy.port });
}, 60_000);

afterAll(async () => {
  await proxy?.restore();
  await service?.stop();
  await proxy?.close();
}, 60_000);

describe("a PostgreSQL outage", () => {
  it("keeps API and worker up, answers 503 meanwhile, and finishes every job accepted", async () => {
    const { api, worker } = await service.startBoth();
    const agents = [await service.registeredCluster("pg a"), await service.registeredCluster("pg b")];
    const running = startHttpAgents(service.base, agents);
    const enqueue = async (n: number) => {
      const { clusterId } = agents[n % agents.length] as (typeof agents)[number];
      const response = await fetch(`${service.base}/api/v1/clusters/${clusterId}/jobs`, {
        method: "POST",
        headers: { authorization: `Bearer ${service.adminKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          kind: "apply",
          payload: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `cm-${n}`, namespace: "default" },
          },
        }),
      });
      return {
        status: response.status,
        retryAfter: response.headers.get("retry-after"),
        body: await response.text(),
      };
    };
    for (let n = 0; n < 10; n++) expect((await enqueue(n)).status).toBe(202);
    await eventually(async () => (await service.jobStates()).succeeded === 10, 20_000);

    await proxy.cut();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => enqueue(10 + i)));
    for (const answer of during) {
      expect(answer.status, answer.body).toBe(503);
      expect(answer.retryAfter).not.toBeNull();
      expect(answer.body).not.toMatch(/stack|at .*\.ts:\d+/);
    }
    const ready = await fetch(`${service.base}/readyz`);
    expect(ready.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    await proxy.restore();
    await waitForHttp(`${service.base}/readyz`);
    for (let n = 30; n < 50; n++) expect((await enqueue(n)).status).toBe(202);
    const states = await eventually(async () => {
      const now = await service.jobStates();
      return now.succeeded === 30 ? now : undefined;
    }, 30_000).catch(service.jobStates);
    await running.stop();
    expect(states).toEqual({ succeeded: 30 });
    expect(running.unexpected).toEqual([]);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
  }, 150_000);
});
