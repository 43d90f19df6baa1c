import http from "node:http";
import { AGENT_MEDIA_TYPE } from "../../packages/protocol/src/index.ts";

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * A keep-alive HTTP/1.1 client on node:http (the repo has no `undici` package to import, and
 * the global fetch cannot be given a pool of 1,000+ sockets without it).
 */
export function createHttpClient(baseUrl: string, maxSockets: number) {
  const base = new URL(baseUrl);
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets,
    maxFreeSockets: maxSockets,
    scheduling: "lifo",
  });

  function request(
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          agent,
          headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  return { request, close: () => agent.destroy() };
}

export type HttpClient = ReturnType<typeof createHttpClient>;

/**
 * What the Go operator's client sends: bearer token, the vendor media type as Accept, the
 * Content-Type only on requests with a body, and Go's transport defaults.
 */
export function goAgentHeaders(token: string, withBody: boolean): Record<string, string> {
  return {
    "user-agent": "Go-http-client/1.1",
    authorization: `Bearer ${token}`,
    accept: AGENT_MEDIA_TYPE,
    "accept-encoding": "gzip",
    ...(withBody ? { "content-type": AGENT_MEDIA_TYPE } : {}),
  };
}
