import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";

// API and worker as real processes, killed with SIGKILL in the middle of a burst of jobs while
// agents work through it over HTTP. Nothing may be lost and no job may be finished twice: every
// job ends `succeeded`, with exactly one accepted result and one JobFinished audit row.
const ADMIN_KEY = "vwksp-key-process-kills-0123456789abcdef";
const CLUSTERS = 3;
const POLLERS_PER_CLUSTER = 2;
const JOBS = 600;

let db: TestDatabase;
const redis = createTestRedisPrefix();
let base: string;
let serviceEnv: Record<string, string>;
let api: ServiceProcess;
let worker: ServiceProcess;
const processes: ServiceProcess[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function start(name: "api" | "worker") {
  const entry = name === "api" ? "apps/api/src/server.ts" : "apps/worker/src/main.ts";
  const process = startProcess(name, entry, [], serviceEnv);
  processes.push(process);
  return process;
}

async function admin<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * Sends a request until it gets an answer below 500, as the Go operator does: a refused
 * connection or a 5xx is retried after a pause, anything else is the answer.
 */
async function untilAnswered(send: () => Promise<Response>): Promise<number> {
  for (;;) {
    try {
      const response = await send();
      await response.arrayBuffer();
      if (response.status < 500) return response.status;
    } catch {
      // connection refused or reset: the API is down or was killed mid-request
    }
    await sleep(100);
  }
}

interface Agent {
  clusterId: string;
  credential: string;
}

/** Per job: the status of every result the agents posted. */
const results = new Map<string, number[]>();
const unexpected: string[] = [];

async function runPoller(agent: Agent, stopped: () => boolean) {
  const headers = agentHeaders(agent.credential, false);
  while (!stopped()) {
    let jobs: { id: string }[];
    try {
      const response = await fetch(`${base}/api/agent/jobs?cluster=${agent.clusterId}&wait=2`, { headers });
      if (response.status !== 200) {
        if (response.status < 500) unexpected.push(`poll ${response.status}`);
        await response.arrayBuffer();
        await sleep(100);
        continue;
      }
      jobs = ((await response.json()) as { jobs: { id: string }[] }).jobs;
    } catch {
      await sleep(100);
      continue;
    }
    for (const job of jobs) {
      const acked = await untilAnswered(() =>
        fetch(`${base}/api/agent/jobs/${job.id}/ack`, { method: "POST", headers }),
      );
      if (acked === 409) continue; // already finished by a poller it was delivered to before
      if (acked !== 204) unexpected.push(`ack ${job.id} ${acked}`);
      const status = await untilAnswered(() =>
        fetch(`${base}/api/agent/jobs/${job.id}/result`, {
          method: "POST",
          headers: agentHeaders(agent.credential),
          body: JSON.stringify({ outcome: "succeeded", timestamp: new Date().toISOString() }),
        }),
      );
      if (status !== 204 && status !== 409) unexpected.push(`result ${job.id} ${status}`);
      results.set(job.id, [...(results.get(job.id) ?? []), status]);
    }
  }
}

async function jobStates(): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string; n: number }>(
      `SELECT state::text AS state, count(*)::int AS n FROM "Job" GROUP BY state`,
    );
    return Object.fromEntries(rows.map((row) => [row.state, row.n]));
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  serviceEnv = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    // Leases of polls that died with the API come back within the test.
    AGENT_LEASE_SECONDS: "3",
    JOB_ACK_TIMEOUT_SECONDS: "5",
  };
  api = start("api");
  worker = start("worker");
  await waitForHttp(`${base}/readyz`);
  await worker.waitFor(/worker started/);
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop("SIGTERM")));
  await redis.cleanup();
  await db?.drop();
}, 60_000);

describe("processes killed in the middle of a burst", () => {
  it("loses no job and finishes none twice when the worker and then the API are killed", async () => {
    const agents: Agent[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      const cluster = await admin<{ id: string }>("POST", "/api/v1/clusters", { displayName: `kill ${i}` });
      const issued = await admin<{ token: string }>(
        "POST",
        `/api/v1/clusters/${cluster.body.id}/registration-tokens`,
      );
      const registered = await fetch(`${base}/api/agent/register`, {
        method: "POST",
        headers: agentHeaders(issued.body.token),
        body: JSON.stringify({ registrationToken: issued.body.token }),
      });
      expect(registered.status).toBe(200);
      const { token } = (await registered.json()) as { token: string };
      agents.push({ clusterId: cluster.body.id, credential: token });
    }

    let stopped = false;
    const pollers = agents.flatMap((agent) =>
      Array.from({ length: POLLERS_PER_CLUSTER }, () => runPoller(agent, () => stopped)),
    );

    // Enqueue the burst, ten requests at a time; a third of the way in the worker is killed and
    // the rest is queued with no worker alive.
    const jobIds: string[] = [];
    let next = 0;
    const enqueue = async () => {
      while (next < JOBS) {
        const n = next++;
        if (n === JOBS / 3) await worker.stop("SIGKILL");
        const agent = agents[n % CLUSTERS] as Agent;
        const created = await admin<{ id: string }>("POST", `/api/v1/clusters/${agent.clusterId}/jobs`, {
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
    expect(worker.child.exitCode ?? worker.child.signalCode).toBe("SIGKILL");
    worker = start("worker");
    await worker.waitFor(/worker started/);

    // Once about half the burst is finished, the API dies with polls, acks and results in flight.
    await eventually(async () => results.size >= JOBS / 2, 60_000);
    expect(await api.stop("SIGKILL")).toBe("SIGKILL");
    await sleep(500);
    api = start("api");
    await waitForHttp(`${base}/readyz`);

    const states = await eventually(async () => {
      const now = await jobStates();
      return now.succeeded === JOBS ? now : undefined;
    }, 90_000).catch(async () => jobStates());
    stopped = true;
    await Promise.all(pollers);

    expect(states).toEqual({ succeeded: JOBS });
    expect(unexpected).toEqual([]);
    expect(new Set(jobIds).size).toBe(JOBS);
    // A result committed just before the API died reaches its agent as a 409 on the retry, which
    // the operator takes as success; what must never happen is a second 204.
    const answered = jobIds.filter((id) => (results.get(id) ?? []).length > 0);
    const twice = jobIds.filter(
      (id) => (results.get(id) ?? []).filter((status) => status === 204).length > 1,
    );
    expect(answered.length).toBe(JOBS);
    expect(twice).toEqual([]);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ jobs: number; rows: number }>(
        `SELECT count(DISTINCT data->>'jobId')::int AS jobs, count(*)::int AS rows
           FROM "AuditEntry" WHERE kind = 'JobFinished'`,
      );
      expect(rows[0]).toEqual({ jobs: JOBS, rows: JOBS });
    } finally {
      await client.end();
    }
  }, 180_000);
});
