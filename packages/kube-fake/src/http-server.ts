import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeBody, tryDecodeBody } from "./body.ts";
import { authenticate, routeCall } from "./router.ts";
import type { RecordedRequest, ServerState } from "./state.ts";
import { StatusError, statusBody } from "./status.ts";
import type { TestCertificates } from "./tls.ts";

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function send(
  record: RecordedRequest,
  response: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  record.code = code;
  if (response.headersSent || response.destroyed) return;
  response.writeHead(code, {
    "content-type": "application/json",
    "cache-control": "no-cache, private",
    "audit-id": randomUUID(),
    ...headers,
  });
  response.end(JSON.stringify(body));
}

async function serve(state: ServerState, request: IncomingMessage, response: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const url = new URL(request.url ?? "/", "https://kube-fake.invalid");
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  const method = request.method ?? "GET";
  const contentType = request.headers["content-type"];
  const record: RecordedRequest = {
    method,
    path,
    query: url.searchParams,
    contentType,
    authorization: request.headers.authorization,
    userAgent: request.headers["user-agent"],
    body: tryDecodeBody(text, contentType),
  };
  state.requests.push(record);

  const fault = state.faults.take(method, path);
  if (fault?.delayMs) await sleep(fault.delayMs);
  if (fault?.reset) return void request.socket.destroy();
  // Never answered: the client's timeout fires; stop() or close() drops the connection.
  if (fault?.hang) return;
  if (fault?.respond) {
    const { code, reason = REASONS[code] ?? "", message = `fault injected: HTTP ${code}` } = fault.respond;
    const retryAfter = fault.respond.retryAfterSeconds;
    if (retryAfter === undefined) return send(record, response, code, statusBody(code, reason, message));
    const details = { retryAfterSeconds: retryAfter };
    return send(record, response, code, statusBody(code, reason, message, details), {
      "retry-after": String(retryAfter),
    });
  }
  try {
    const user = authenticate(state, request.headers.authorization);
    record.user = user.username;
    const body = decodeBody(text, contentType);
    const answer = routeCall(state, user, { request, response, path, query: url.searchParams, body });
    if (answer) send(record, response, answer.code, answer.body);
    else record.code = 200;
  } catch (error) {
    if (error instanceof StatusError) return send(record, response, error.status.code, error.status);
    const message = error instanceof Error ? error.message : String(error);
    send(record, response, 500, statusBody(500, "InternalError", `Internal error occurred: ${message}`));
  }
}

/** The HTTPS listener; stop() and start() again keep the port, so clients reconnect to the same URL. */
export function createListener(state: ServerState, certificates: TestCertificates) {
  const server: Server = createServer(
    { cert: certificates.cert, key: certificates.key },
    (request, response) => {
      void serve(state, request, response);
    },
  );
  let port = 0;
  return {
    port: () => port,
    async start(requestedPort: number) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(requestedPort, "127.0.0.1", () => {
          server.off("error", reject);
          resolve();
        });
      });
      port = (server.address() as AddressInfo).port;
    },
    listening: () => server.listening,
    /** Refuses new connections and cuts open ones (watches, hung requests) like a dead server. */
    async stop() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
