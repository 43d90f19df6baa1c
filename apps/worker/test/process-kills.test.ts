import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import { waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// API and worker as real processes, killed with SIGKILL in the middle of a burst of jobs while
// agents work through it over HTTP. Nothing may be lost and no job may be finished twice: every
// job ends `succeeded`, with one accepted result and one JobFinished audit row.
const CLUSTERS = 3;
const JOBS = 600;

let service: ServiceProcesses;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: service.db.url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  // Leases of polls that died with the API come back within the test.
  service = await startServiceProcesses({ AGENT_LEASE_SECONDS: "3", JOB_ACK_TIMEOUT_SECONDS: "5" });
}, 60_000);

afterAll(async () => {
  await service?.stop();
}, 60_000);

describe("processes killed in the middle of a burst", () => {
  it("loses no job and finishes none twice when the worker and then the API are killed", async () => {
    let { api, worker } = await service.startBoth();
    const agents: { clusterId: string; credential: string }[] = [];
    for (let i = 0; i < CLUSTERS; i++) agents.push(await service.registeredCluster(`kill ${i}`));
    const running = startHttpAgents(service.base, agents, 2);

    // Enqueue the burst, ten requests at a time; a third of the way in the worker is killed and
    // the rest is queued with no worker alive.
    const jobIds: string[] = [];
    let next = 0;
    const enqueue = async () => {
      while (next < JOBS) {
        const n = next++;
        if (n === JOBS / 3) await worker.stop("SIGKILL");
        const { clusterId } = agents[n % CLUSTERS] as (typeof agents)[number];
        const created = await service.admin<{ id: string }>("POST", `/api/v1/clusters/${clusterId}/jobs`, {
          kind: "apply",
          payload: {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `cm-${n}`, namespace: "default" },
          },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(202);
        jobIds.push(created.body.id);
      }
    };
    await Promise.all(Array.from({ length: 10 }, enqueue));
    expect(worker.child.signalCode).toBe("SIGKILL");
    worker = service.start("worker");
    await worker.waitFor(/worker started/);

    // Once about half the burst is finished, the API dies with polls, acks and results in flight.
    await eventually(async () => running.results.size >= JOBS / 2, 60_000);
    expect(await api.stop("SIGKILL")).toBe("SIGKILL");
    await sleep(500);
    api = service.start("api");
    await waitForHttp(`${service.base}/readyz`);

    const states = await eventually(async () => {
      const now = await service.jobStates();
      return now.succeeded === JOBS ? now : undefined;
    }, 90_000).catch(service.jobStates);
    await running.stop();

    expect(states).toEqual({ succeeded: JOBS });
    expect(running.unexpected).toEqual([]);
    expect(new Set(jobIds).size).toBe(JOBS);
    // A result committed just before the API died reaches its agent as a 409 on the retry, which
    // the operator takes as success; what must never happen is a second 204.
    const { results } = running;
    const answered = jobIds.filter((id) => (results.get(id) ?? []).length > 0);
    const twice = jobIds.filter(
      (id) => (results.get(id) ?? []).filter((status) => status === 204).length > 1,
    );
    expect(answered.length).toBe(JOBS);
    expect(twice).toEqual([]);
    const [audit] = await query<{ jobs: number; rows: number }>(
      `SELECT count(DISTINCT data->>'jobId')::int AS jobs, count(*)::int AS rows
         FROM "AuditEntry" WHERE kind = 'JobFinished'`,
    );
    expect(audit).toEqual({ jobs: JOBS, rows: JOBS });
  }, 180_000);
});
