import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { adminUrl, TEST_REDIS_URL } from "../../../test/support/pg-urls.ts";
import { waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";
import { startTcpProxy } from "../../../test/support/tcp-proxy.ts";

// A partition, not an outage: PostgreSQL or Redis stops answering while every connection to it
// stays open (a proxy that stops forwarding). Nothing fails fast by itself then; the service's
// own timeouts must answer every request within seconds — with 503 + Retry-After when the
// request needs what is not answering — and both processes must carry on once it answers again.
const pgServer = new URL(adminUrl());
const redisServer = new URL(TEST_REDIS_URL);
let pgProxy: Awaited<ReturnType<typeof startTcpProxy>>;
let redisProxy: Awaited<ReturnType<typeof startTcpProxy>>;
let service: ServiceProcesses;
let processes: Awaited<ReturnType<ServiceProcesses["startBoth"]>>;
let a: { clusterId: string; credential: string };
let b: { clusterId: string; credential: string };

/** Within this long, any request: a 5 s statement timeout plus the 2 s silence grace, and slack. */
const ANSWER_WITHIN_MS = 9_000;

beforeAll(async () => {
  pgProxy = await startTcpProxy({ host: pgServer.hostname, port: Number(pgServer.port || 5432) });
  redisProxy = await startTcpProxy({ host: redisServer.hostname, port: Number(redisServer.port || 6379) });
  service = await startServiceProcesses({}, { databaseVia: pgProxy.port, redisVia: redisProxy.port });
  processes = await service.startBoth();
  a = await service.registeredCluster("partition a");
  b = await service.registeredCluster("partition b");
}, 60_000);

afterAll(async () => {
  await pgProxy?.restore();
  await redisProxy?.restore();
  await service?.stop();
  await pgProxy?.close();
  await redisProxy?.close();
}, 60_000);

interface Answer {
  what: string;
  status: number;
  ms: number;
  retryAfter: string | null;
}

async function timed(what: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(`${service.base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
    await response.arrayBuffer();
    const retryAfter = response.headers.get("retry-after");
    return { what, status: response.status, ms: performance.now() - started, retryAfter };
  } catch {
    // No answer at all within 30 s: reported as late, with no status.
    return { what, status: 0, ms: performance.now() - started, retryAfter: null };
  }
}

const admin = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: {
    authorization: `Bearer ${service.adminKey}`,
    ...(body === undefined ? {} : { "content-type": "application/json" }),
  },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
const configMap = (name: string) => ({
  kind: "apply",
  payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" } },
});

/** Late answers, and answers that are neither expected nor a 503 with Retry-After. */
function problems(answers: Answer[], expected: Record<string, number[]>) {
  return answers.flatMap((answer) => {
    const late = answer.ms > ANSWER_WITHIN_MS ? [`${answer.what}: ${answer.ms.toFixed(0)} ms`] : [];
    const ok =
      (expected[answer.what] ?? []).includes(answer.status) ||
      (answer.status === 503 && answer.retryAfter !== null);
    return [...late, ...(ok ? [] : [`${answer.what}: ${answer.status}`])];
  });
}

describe("a partition", () => {
  it("from Redis: failed authentications, revoke, disable, rotation and enqueues answer within seconds", async () => {
    redisProxy.stall();
    const answers = await Promise.all([
      timed("failed authentication", `/api/agent/jobs?cluster=${a.clusterId}&wait=0`, {
        headers: agentHeaders(`vwksp-agt-${"0".repeat(64)}`, false),
      }),
      timed("failed registration", "/api/agent/register", {
        method: "POST",
        headers: agentHeaders(`vwksp-reg-${"0".repeat(64)}`),
        body: JSON.stringify({ registrationToken: `vwksp-reg-${"0".repeat(64)}` }),
      }),
      timed("revoke", `/api/v1/clusters/${b.clusterId}/credentials/revoke`, admin("POST")),
      timed("rotation", "/api/agent/credentials/rotate", {
        method: "POST",
        headers: agentHeaders(a.credential),
        body: "{}",
      }),
      timed("enqueue", `/api/v1/clusters/${a.clusterId}/jobs`, admin("POST", configMap("during-redis"))),
    ]);
    // Disabling after the revoke: both change cluster b.
    answers.push(await timed("disable", `/api/v1/clusters/${b.clusterId}`, admin("DELETE")));
    console.log(answers.map((x) => `${x.what} ${x.status} ${x.ms.toFixed(0)} ms`).join("; "));
    expect(
      problems(answers, {
        "failed authentication": [401],
        "failed registration": [401],
        revoke: [204],
        rotation: [200],
        enqueue: [202],
        disable: [200],
      }),
    ).toEqual([]);

    await redisProxy.restore();
    expect(processes.api.child.exitCode).toBeNull();
    expect(processes.worker.child.exitCode).toBeNull();
  }, 60_000);

  it("from PostgreSQL: every request answers 503 with Retry-After within seconds, and all goes on after", async () => {
    // A credential and a job from before: the agent is known to the credential cache.
    const rotated = await fetch(`${service.base}/api/agent/jobs?cluster=${a.clusterId}&wait=0`, {
      headers: agentHeaders(a.credential, false),
    });
    const credential = rotated.status === 200 ? a.credential : undefined;
    pgProxy.stall();
    const answers = await Promise.all([
      timed("poll", `/api/agent/jobs?cluster=${a.clusterId}&wait=0`, {
        headers: agentHeaders(credential ?? a.credential, false),
      }),
      timed("events", "/api/agent/events", {
        method: "POST",
        headers: agentHeaders(credential ?? a.credential),
        body: JSON.stringify({
          events: [
            {
              eventKey: "partition/1",
              kind: "ConditionTransition",
              resourceRef: { apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "x" },
              conditions: [
                {
                  type: "Ready",
                  status: "True",
                  reason: "R",
                  message: "",
                  lastTransitionTime: new Date().toISOString(),
                },
              ],
              timestamp: new Date().toISOString(),
            },
          ],
        }),
      }),
      timed("enqueue", `/api/v1/clusters/${a.clusterId}/jobs`, admin("POST", configMap("during-pg"))),
      timed("list clusters", "/api/v1/clusters", admin("GET")),
      timed("readyz", "/readyz"),
    ]);
    console.log(answers.map((x) => `${x.what} ${x.status} ${x.ms.toFixed(0)} ms`).join("; "));
    expect(problems(answers, {})).toEqual([]);
    expect(processes.api.child.exitCode).toBeNull();
    expect(processes.worker.child.exitCode).toBeNull();

    await pgProxy.restore();
    await waitForHttp(`${service.base}/readyz`, 30_000);
    const after = await eventually(async () => {
      const answer = await timed(
        "enqueue",
        `/api/v1/clusters/${a.clusterId}/jobs`,
        admin("POST", configMap("after-pg")),
      );
      return answer.status === 202 ? answer : undefined;
    }, 30_000);
    expect(after.status).toBe(202);
    await eventually(async () => ((await service.jobStates()).ready ?? 0) >= 1, 30_000);
  }, 90_000);
});
