import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Telemetry } from "./runtime/telemetry.ts";

/** `host:port`, `:port` (every interface) or `[v6]:port`. */
export function parseHostPort(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65_535) {
    throw new Error(`expected host:port (e.g. 0.0.0.0:8081 or [::]:8081), got "${value}"`);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export const HEALTH_PATHS = ["/healthz", "/readyz", "/metrics"] as const;

/**
 * The agent's own HTTP listener, for kubelet and Prometheus: `/healthz` (the process answers),
 * `/readyz` (registered and in touch with the control plane, else 503 with the reason) and
 * `/metrics`. Nothing else, and nothing secret: it answers anyone who reaches the port.
 */
export async function startHealthServer(telemetry: Telemetry, address: { host: string; port: number }) {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://agent").pathname;
    const send = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      response.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      response.end(request.method === "HEAD" ? undefined : body);
    };
    if (request.method !== "GET" && request.method !== "HEAD") return send(405, "method not allowed\n");
    if (path === "/healthz") return send(200, "ok\n");
    if (path === "/readyz") {
      const { ready, reason } = telemetry.readiness();
      return send(ready ? 200 : 503, `${reason}\n`);
    }
    if (path === "/metrics") {
      telemetry.registry.metrics().then(
        (text) => send(200, text, telemetry.registry.contentType),
        (error: unknown) => send(500, `${String(error)}\n`),
      );
      return;
    }
    send(404, "not found\n");
  });
  // A scraper or probe that hangs must not hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    port: bound.port,
    host: bound.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type HealthServer = Awaited<ReturnType<typeof startHealthServer>>;
