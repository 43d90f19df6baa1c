import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@vwksp/core";
import type { WorkerMetrics } from "./worker-metrics.ts";

/**
 * The worker's internal listener on METRICS_PORT: `GET /metrics` for Prometheus and `GET
 * /healthz` (the process answers: a liveness probe). The worker has no other HTTP, so plain
 * node:http rather than a framework.
 */
export async function startMetricsServer(options: {
  metrics: WorkerMetrics;
  logger: Logger;
  port: number;
  host: string;
}): Promise<{ port: number; close(): Promise<void> }> {
  const { metrics, logger } = options;
  metrics.collectProcessMetrics();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" || (path !== "/metrics" && path !== "/healthz")) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    if (path === "/healthz") {
      response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    metrics.scrape(logger).then(
      (text) =>
        response
          .writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" })
          .end(text),
      (error: unknown) => {
        logger.error({ err: error }, "metrics: scrape failed");
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end("scrape failed\n");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
