import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { eventually } from "../../../test/support/fixtures.ts";
import { startHttpAgents } from "../../../test/support/http-agent.ts";
import { terminateBackends } from "../../../test/support/pg-faults.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// What every PostgreSQL restart, failover or idle-connection reaper does: the server ends the
// service's sessions while API and worker are busy (polls, acks, results, enqueues, event
// batches, dispatch). Both processes must stay up, answer 503 with Retry-After meanwhile (never
// a 500), and finish every job they accepted.
const JOBS = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let service: ServiceProcesses;

beforeAll(async () => {
  // Leases of deliveries cut off mid-way come back within the test.
  service = await startServiceProcesses({ AGENT_LEASE_SECONDS: "3", JOB_ACK_TIMEOUT_SECONDS: "5" });
}, 60_000);

afterAll(async () => {
  await service?.stop();
}, 60_000);

/** Every answer that is neither what the caller wanted nor a 503 with Retry-After. */
const wrongAnswers: string[] = [];
function judge(what: string, response: Response, ok: number[]) {
  if (ok.includes(response.status)) return true;
  if (response.status === 503 && response.headers.get("retry-after")) return false;
  wrongAnswers.push(`${what}: ${response.status}`);
  return false;
}

/** The logged errors behind the API's 500 answers, to say why they were not 503s. */
function internalErrors(lines: string[]): string[] {
  const parsed = lines.flatMap((line) => {
    try {
      return [
        JSON.parse(line) as { reqId?: string; res?: { statusCode?: number }; err?: { message?: string } },
      ];
    } catch {
      return [];
    }
  });
  const failed = new Set(parsed.filter((entry) => entry.res?.statusCode === 500).map((entry) => entry.reqId));
  return parsed
    .filter((entry) => entry.err && failed.has(entry.reqId))
    .map((entry) => JSON.stringify(entry.err).slice(0, 1500));
}

describe("PostgreSQL ending the service's sessions under load", () => {
  it("keeps API and worker up, answers 503 meanwhile and loses no job", async () => {
    const { api, worker } = await service.startBoth();
    const agents = [await service.registeredCluster("cut a"), await service.registeredCluster("cut b")];
    const running = startHttpAgents(service.base, agents, 2);

    let stopped = false;
    // A process that died never answers again: give up then, and let the assertions say why.
    const deadline = Date.now() + 60_000;
    // Admin enqueues, retried after a 503 like the Odoo module does; the idempotency key makes a
    // retry of a request whose answer was lost return the same job.
    let next = 0;
    const enqueuer = async () => {
      while (next < JOBS) {
        const n = next++;
        const { clusterId } = agents[n % agents.length] as (typeof agents)[number];
        while (Date.now() < deadline) {
          const response = await fetch(`${service.base}/api/v1/clusters/${clusterId}/jobs`, {
            method: "POST",
            headers: { authorization: `Bearer ${service.adminKey}`, "content-type": "application/json" },
            body: JSON.stringify({
              kind: "apply",
              idempotencyKey: `cut-${n}`,
              payload: {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: `cm-${n}`, namespace: "default" },
              },
            }),
          }).catch(() => undefined);
          if (response) await response.arrayBuffer();
          if (response && judge("enqueue", response, [200, 202])) break;
          await sleep(100);
        }
        await sleep(20);
      }
    };
    // Event batches (a transaction each), as a fleet replaying its buffers does.
    let batch = 0;
    const reporter = async ({ credential }: { credential: string }) => {
      while (!stopped) {
        batch += 1;
        const events = Array.from({ length: 50 }, (_, i) => ({
          eventKey: `cut/${batch}/${i}`,
          kind: "ConditionTransition",
          resourceRef: {
            apiVersion: "apps.vworkspace.io/v1alpha1",
            kind: "ApplicationInstance",
            namespace: "org-a",
            name: `app-${i}`,
          },
          conditions: [
            {
              type: "Ready",
              status: batch % 2 ? "True" : "False",
              reason: "R",
              message: "",
              lastTransitionTime: new Date().toISOString(),
            },
          ],
          timestamp: new Date().toISOString(),
        }));
        const response = await fetch(`${service.base}/api/agent/events`, {
          method: "POST",
          headers: agentHeaders(credential),
          body: JSON.stringify({ events }),
        }).catch(() => undefined);
        if (response) {
          await response.arrayBuffer();
          judge("events", response, [204]);
        }
        await sleep(30);
      }
    };
    const load = Promise.all([...Array.from({ length: 4 }, enqueuer), ...agents.map(reporter)]);

    // Six rounds of every session ended, while the load runs.
    let ended = 0;
    for (let round = 0; round < 6; round++) {
      await sleep(700);
      ended += await terminateBackends(service.db.name);
    }
    while (next < JOBS && Date.now() < deadline) await sleep(100);
    stopped = true;
    await load;

    // Agents retry a dead API forever: check the processes before waiting on anything else.
    expect(api.child.exitCode, api.text().slice(-3000)).toBeNull();
    expect(worker.child.exitCode, worker.text().slice(-3000)).toBeNull();
    const states = await eventually(async () => {
      const now = await service.jobStates();
      return now.succeeded === JOBS ? now : undefined;
    }, 30_000).catch(service.jobStates);
    await running.stop();

    expect(ended).toBeGreaterThan(6);
    expect(next).toBe(JOBS);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();
    expect(wrongAnswers, internalErrors(api.output).join("\n")).toEqual([]);
    expect(states).toEqual({ succeeded: JOBS });
    expect(running.unexpected).toEqual([]);
    expect(`${api.text()}\n${worker.text()}`).not.toMatch(/Unhandled|uncaught/i);
  }, 180_000);
});
