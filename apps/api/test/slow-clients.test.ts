import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { rssMiB } from "../../../test/support/memory.ts";
import { type ServiceProcess, waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// Clients that send their request slowly or not at all: a body trickled a byte at a time, a
// large body that stalls, headers that never end. Each must be cut off after
// REQUEST_TIMEOUT_SECONDS (here 3 s) without holding memory meanwhile, while a long-poll still
// waits as long as it asked to and agents with credentials are still served.
const REQUEST_TIMEOUT_SECONDS = 3;

let service: ServiceProcesses;
let api: ServiceProcess;
let agent: { clusterId: string; credential: string };

beforeAll(async () => {
  service = await startServiceProcesses({ REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS) });
  api = service.start("api");
  await waitForHttp(`${service.base}/readyz`);
  agent = await service.registeredCluster("slow clients");
}, 60_000);

afterAll(async () => {
  await service?.stop();
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RawClient {
  socket: Socket;
  /** The status line of the answer, once there is one. */
  answer: () => string | undefined;
  closedAfterMs: () => number | undefined;
}

/** A raw connection that sends `head` at once; what follows is up to the test. */
function rawClient(head: string): Promise<RawClient> {
  const port = Number(new URL(service.base).port);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answer: string | undefined;
    let closedAt: number | undefined;
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(head);
      resolve({ socket, answer: () => answer, closedAfterMs: () => closedAt });
    });
    socket.on("data", (data) => {
      answer ??= data.toString("latin1").split("\r\n")[0];
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closedAt = performance.now() - started;
    });
    socket.once("error", reject);
  });
}

const postHead = (path: string, length: number, headers: Record<string, string> = {}) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${Object.entries(
    headers,
  )
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`;

describe("slow clients", () => {
  it("cuts bodies trickled a byte at a time, and headers that never end, after the request timeout", async () => {
    const bodies = await Promise.all([
      // Before authentication (the registration token is in the body) and after it.
      ...Array.from({ length: 80 }, () => rawClient(postHead("/api/agent/register", 1000))),
      ...Array.from({ length: 40 }, () =>
        rawClient(postHead("/api/agent/events", 1000, { Authorization: `Bearer ${agent.credential}` })),
      ),
    ]);
    const headers = await Promise.all(
      Array.from({ length: 20 }, () => rawClient("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")),
    );
    const trickled = [...bodies, ...headers];
    const trickle = setInterval(() => {
      for (const client of bodies) if (client.closedAfterMs() === undefined) client.socket.write(" ");
      for (const client of headers)
        if (client.closedAfterMs() === undefined) client.socket.write("X-Slow: 1\r\n");
    }, 100);
    // A long-poll waits longer than the request timeout: its request had arrived.
    const poll = fetch(
      `${service.base}/api/agent/jobs?cluster=${agent.clusterId}&wait=${REQUEST_TIMEOUT_SECONDS + 3}`,
      {
        headers: agentHeaders(agent.credential, false),
      },
    ).then(async (response) => ({ status: response.status, body: await response.text() }));
    const pollStarted = performance.now();

    // At most 64 bodies are received before authentication at once: the other 16 are refused.
    await sleep(1_000);
    expect(bodies.filter((client) => client.answer()?.startsWith("HTTP/1.1 503")).length).toBe(16);

    await sleep((REQUEST_TIMEOUT_SECONDS + 1.5) * 1000);
    clearInterval(trickle);
    const open = trickled.filter((client) => client.closedAfterMs() === undefined).length;
    const answers = new Set(trickled.map((client) => client.answer()));
    for (const client of trickled) client.socket.destroy();
    expect(open).toBe(0);
    expect(
      [...answers].filter((answer) => answer !== undefined && !/^HTTP\/1\.1 (408|503)/.test(answer)),
    ).toEqual([]);

    const polled = await poll;
    expect(polled).toEqual({ status: 200, body: '{"jobs":[]}' });
    expect(performance.now() - pollStarted).toBeGreaterThan((REQUEST_TIMEOUT_SECONDS + 2.5) * 1000);
  }, 30_000);

  it("holds no memory for 200 stalled ~1 MB bodies and still serves agents meanwhile", async () => {
    const pid = api.child.pid as number;
    const before = rssMiB(pid);
    const chunk = "x".repeat(64 * 1024);
    const stalled = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const client = await rawClient(postHead("/api/agent/register", 1024 * 1024));
        // Most of the body, then nothing more (the kernel takes what the server does not read).
        for (let sent = 0; sent < 900 * 1024; sent += chunk.length) client.socket.write(chunk);
        return client;
      }),
    );
    await sleep(1_000);
    const during = rssMiB(pid);
    // An agent with a credential posts a result-sized body meanwhile: authenticated first, read
    // at once, answered (204).
    const events = await fetch(`${service.base}/api/agent/events`, {
      method: "POST",
      headers: agentHeaders(agent.credential),
      body: JSON.stringify({
        events: [
          {
            kind: "ClusterHeartbeat",
            resourceRef: { apiVersion: "v1", kind: "Node", name: "n" },
            timestamp: new Date().toISOString(),
          },
        ],
      }),
    });
    expect(events.status).toBe(204);

    await sleep((REQUEST_TIMEOUT_SECONDS + 2) * 1000);
    const open = stalled.filter((client) => client.closedAfterMs() === undefined).length;
    const answers = new Set(stalled.map((client) => client.answer()));
    for (const client of stalled) client.socket.destroy();
    console.log(
      `stalled bodies: RSS ${before.toFixed(0)} → ${during.toFixed(0)} MiB; answers ${[...answers].join(", ")}`,
    );
    expect(open).toBe(0);
    expect([...answers]).toEqual(["HTTP/1.1 413 Payload Too Large"]);
    // 200 × 900 KB sent: none of it is kept.
    expect(during - before).toBeLessThan(40);
    expect(api.child.exitCode).toBeNull();
  }, 30_000);
});
