import { agentHeaders } from "./agent.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends a request until it gets an answer below 500, as the Go operator does: a refused
 * connection or a 5xx is retried after a pause, anything else is the answer.
 */
export async function untilAnswered(send: () => Promise<Response>): Promise<number> {
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

/**
 * Agents over real HTTP with the Go operator's requests: each poller long-polls its cluster,
 * acks every job and posts a `succeeded` result, retrying through outages. Records the status of
 * every result per job, and every answer the operator would not expect.
 */
export function startHttpAgents(
  base: string,
  agents: { clusterId: string; credential: string }[],
  perCluster = 1,
) {
  const results = new Map<string, number[]>();
  const unexpected: string[] = [];
  let stopped = false;

  async function poller({ clusterId, credential }: { clusterId: string; credential: string }) {
    const headers = agentHeaders(credential, false);
    while (!stopped) {
      let jobs: { id: string }[];
      try {
        const response = await fetch(`${base}/api/agent/jobs?cluster=${clusterId}&wait=2`, { headers });
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
            headers: agentHeaders(credential),
            body: JSON.stringify({ outcome: "succeeded", timestamp: new Date().toISOString() }),
          }),
        );
        if (status !== 204 && status !== 409) unexpected.push(`result ${job.id} ${status}`);
        results.set(job.id, [...(results.get(job.id) ?? []), status]);
      }
    }
  }

  const running = agents.flatMap((agent) => Array.from({ length: perCluster }, () => poller(agent)));
  return {
    results,
    unexpected,
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}
