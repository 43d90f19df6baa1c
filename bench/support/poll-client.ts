// A process of its own holding thousands of agent long-polls on raw sockets (bench/polls.ts):
// the API's sockets and this one's each need a file descriptor, and one process per API keeps
// each under the file limit. Started with IPC: the parent sends the agents to hold, this process
// reports how many polls are out and every answer (cluster, time, job ids), and polls again on
// the same connection, as the operator does. A raw socket per poll costs this process a few
// hundred bytes, so the figures the bench reads are the API's.
import { connect, type Socket } from "node:net";
import { AGENT_MEDIA_TYPE } from "../../packages/protocol/src/index.ts";
import type { AgentIdentity } from "./agents.ts";

export interface PollClientStart {
  port: number;
  /** Source address (127.0.0.x), each has its own range of ephemeral ports. */
  localAddress: string;
  agents: AgentIdentity[];
  waitSeconds: number;
  /** New connections per second (a burst of SYNs overflows the listen backlog). */
  openPerSecond: number;
}

export type PollClientReport =
  | { type: "out"; polls: number; failed: number }
  | { type: "answer"; clusterId: string; status: number; jobIds: string[]; at: number };

const send = (report: PollClientReport) => process.send?.(report);

function hold(start: PollClientStart, agent: AgentIdentity, onOut: () => void, onFail: () => void): void {
  const request =
    `GET /api/agent/jobs?cluster=${agent.clusterId}&wait=${start.waitSeconds} HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${start.port}\r\nAuthorization: Bearer ${agent.token}\r\nAccept: ${AGENT_MEDIA_TYPE}\r\n` +
    "User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n";
  let pending: Buffer = Buffer.alloc(0);
  const socket: Socket = connect(
    { port: start.port, host: "127.0.0.1", localAddress: start.localAddress },
    () => {
      socket.write(request);
      onOut();
    },
  );
  socket.setNoDelay(true);
  socket.on("error", () => {});
  // A connection that failed (a full listen backlog, a reset) is tried again a second later.
  socket.once("close", () => {
    onFail();
    setTimeout(() => hold(start, agent, onOut, onFail), 1_000);
  });
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      const end = pending.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = pending.subarray(0, end).toString("latin1");
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      const body = pending.subarray(end + 4, end + 4 + length).toString("utf8");
      pending = pending.subarray(end + 4 + length);
      const status = Number(head.slice(9, 12));
      let jobIds: string[] = [];
      try {
        jobIds = (JSON.parse(body) as { jobs?: { id: string }[] }).jobs?.map((job) => job.id) ?? [];
      } catch {}
      send({ type: "answer", clusterId: agent.clusterId, status, jobIds, at: Date.now() });
      // Polls again at once, as the operator does; after a refusal, a second later.
      if (status === 200) socket.write(request);
      else setTimeout(() => socket.writable && socket.write(request), 1_000);
    }
  });
}

process.once("message", (start: PollClientStart) => {
  let out = 0;
  let failed = 0;
  const report = setInterval(() => send({ type: "out", polls: out, failed }), 500);
  report.unref();
  let next = 0;
  const opener = setInterval(() => {
    const batch = Math.ceil(start.openPerSecond / 20);
    for (let i = 0; i < batch && next < start.agents.length; i++, next++) {
      hold(
        start,
        start.agents[next] as AgentIdentity,
        () => {
          out += 1;
        },
        () => {
          failed += 1;
        },
      );
    }
    if (next >= start.agents.length) clearInterval(opener);
  }, 50);
});
