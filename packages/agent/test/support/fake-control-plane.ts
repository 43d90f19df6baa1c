import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

/** `hold` never answers (a long-poll that waits); the request ends when the client aborts. */
export type Handler = (request: SeenRequest) => Answer | "hold" | Promise<Answer | "hold">;

export const envelope = (
  status: number,
  error: string,
  message: string,
  headers: Record<string, string> = {},
) => ({
  status,
  json: { error, message, requestId: `rq-${status}` },
  headers,
});

/** A scripted stand-in for the control plane, for behaviour the real one will not show on demand. */
export async function startFakeControlPlane(handler: Handler) {
  const requests: SeenRequest[] = [];
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", async () => {
      const url = new URL(request.url ?? "/", "http://fake");
      const seen = {
        method: request.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        body,
      };
      requests.push(seen);
      const answer = await handler(seen);
      if (answer === "hold") {
        held.add(response);
        response.on("close", () => held.delete(response));
        return;
      }
      const headers = {
        ...(answer.json !== undefined ? { "content-type": "application/vnd.vworkspace.agent.v1+json" } : {}),
        ...answer.headers,
      };
      response.writeHead(answer.status, headers);
      response.end(answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? ""));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    held: () => held.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeControlPlane = Awaited<ReturnType<typeof startFakeControlPlane>>;

/** Real time, but every requested sleep is recorded and shortened a hundredfold. */
export function recordingTiming(random = 0.5) {
  const sleeps: number[] = [];
  return {
    sleeps,
    timing: {
      clock: { now: () => new Date() },
      random: () => random,
      sleep: (ms: number, signal?: AbortSignal) =>
        new Promise<void>((resolve) => {
          sleeps.push(ms);
          if (signal?.aborted) return resolve();
          const timer = setTimeout(done, ms / 100);
          function done() {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
          }
          signal?.addEventListener("abort", done, { once: true });
        }),
    },
  };
}
