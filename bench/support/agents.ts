import { performance } from "node:perf_hooks";
import type { HttpClient } from "./http.ts";
import { goAgentHeaders } from "./http.ts";
import { sleep } from "./stats.ts";

export interface AgentIdentity {
  clusterId: string;
  token: string;
}

/** One bench job, keyed by the name the bench put into its manifest. */
export interface Tracked {
  enqueueStart: number;
  enqueueEnd?: number;
  received?: number;
  finished?: number;
  deliveries: number;
}

interface DeliveredJob {
  id: string;
  payload: { metadata?: { name?: string } };
}

/**
 * Simulated operators: each long-polls `GET /api/agent/jobs?cluster=…&wait=…` with the Go
 * client's headers, acks every job it receives (POST without body), posts a `succeeded` result,
 * and polls again — the loop of vworkspace-operator's internal/agent.
 */
export function createAgentFleet(client: HttpClient, tracked: Map<string, Tracked>, waitSeconds = 30) {
  let stopping = false;
  let pollsInFlight = 0;
  const errors = new Map<string, number>();
  const loops: Promise<void>[] = [];

  const countError = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);

  async function handle(agent: AgentIdentity, job: DeliveredJob) {
    const name = job.payload.metadata?.name ?? "";
    const track = tracked.get(name);
    if (track) track.deliveries += 1;
    const path = `/api/agent/jobs/${encodeURIComponent(job.id)}`;
    const ack = await client.request("POST", `${path}/ack`, goAgentHeaders(agent.token, false));
    if (ack.status !== 204) countError(`ack ${ack.status}`);
    const result = await client.request(
      "POST",
      `${path}/result`,
      goAgentHeaders(agent.token, true),
      JSON.stringify({ outcome: "succeeded", timestamp: new Date().toISOString() }),
    );
    if (result.status !== 204) countError(`result ${result.status}`);
    if (track) track.finished ??= performance.now();
  }

  async function run(agent: AgentIdentity) {
    const poll = `/api/agent/jobs?cluster=${encodeURIComponent(agent.clusterId)}&wait=${waitSeconds}`;
    while (!stopping) {
      pollsInFlight += 1;
      let response: Awaited<ReturnType<HttpClient["request"]>>;
      try {
        response = await client.request("GET", poll, goAgentHeaders(agent.token, false));
      } catch (error) {
        if (stopping) return;
        countError(`poll ${(error as NodeJS.ErrnoException).code ?? "error"}`);
        await sleep(1_000);
        continue;
      } finally {
        pollsInFlight -= 1;
      }
      if (response.status !== 200) {
        if (stopping) return;
        countError(`poll ${response.status}`);
        await sleep(1_000); // the Go client backs off ≥ 1 s on errors
        continue;
      }
      const { jobs } = JSON.parse(response.body) as { jobs: DeliveredJob[] };
      const receivedAt = performance.now();
      for (const job of jobs) {
        const track = tracked.get(job.payload.metadata?.name ?? "");
        if (track && track.received === undefined) track.received = receivedAt;
      }
      for (const job of jobs) {
        try {
          await handle(agent, job);
        } catch (error) {
          if (stopping) return;
          countError(`job ${(error as NodeJS.ErrnoException).code ?? "error"}`);
        }
      }
    }
  }

  return {
    start(agents: AgentIdentity[]) {
      for (const agent of agents) loops.push(run(agent));
    },
    /** Polls sent and not yet answered (waiting polls, once the server has parked them). */
    pollsInFlight: () => pollsInFlight,
    errors: () => [...errors].map(([what, count]) => `${what}×${count}`).join(", ") || "none",
    errorCount: () => [...errors.values()].reduce((sum, count) => sum + count, 0),
    /** Stops polling; outstanding polls end when the API answers them (graceful close) or the client goes. */
    async stop(timeoutMs = 10_000) {
      stopping = true;
      await Promise.race([Promise.allSettled(loops), sleep(timeoutMs)]);
    },
  };
}
