import type { IncomingMessage } from "node:http";
import { type RequestOptions, request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeTransportError, statusFromBody, toKubeError } from "./kube-errors.ts";

const MAX_ERROR_BODY_BYTES = 64 * 1024;

async function readText(response: IncomingMessage, limit = Number.POSITIVE_INFINITY) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * GET requests the typed client cannot make well: lists read as plain JSON, and watches, which
 * client-node's Watch cannot abort while the request is still opening and which it never times
 * out (its 30 s timeout signal is overwritten before use in 1.4.0). TLS material and the token
 * come from client-node's KubeConfig, as for the typed calls.
 */
export function createRawHttp(
  config: KubeConfig,
  options: { timeoutMs: number; signal: AbortSignal; server: string },
) {
  const fail = (error: unknown) => toKubeError(error, options.server, options.signal.aborted);

  /**
   * Opens a GET and resolves with the 2xx response once its headers are in; a non-2xx answer is a
   * KubeStatusError. The headers must come within the request timeout; `signal` aborts at any time.
   */
  async function open(
    path: string,
    query: Record<string, string | undefined>,
    call: { signal?: AbortSignal } = {},
  ): Promise<IncomingMessage> {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    const url = new URL(`${cluster.server.replace(/\/+$/, "")}${path}`);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, value);
    const https: RequestOptions = {};
    await config.applyToHTTPSOptions(https);
    const signal = call.signal ? AbortSignal.any([options.signal, call.signal]) : options.signal;
    if (signal.aborted) throw new KubeTransportError("Closed", "the request was aborted before it started");

    return new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = request(
        url,
        { ...https, method: "GET", headers: { ...https.headers, accept: "application/json" }, signal },
        (response) => {
          clearTimeout(deadline);
          const code = response.statusCode ?? 0;
          if (code >= 200 && code < 300) return resolve(response);
          readText(response, MAX_ERROR_BODY_BYTES).then(
            (body) => reject(statusFromBody(code, body)),
            (error) => reject(fail(error)),
          );
        },
      );
      const deadline = setTimeout(() => {
        outgoing.destroy(Object.assign(new Error("headers timeout"), { name: "TimeoutError" }));
      }, options.timeoutMs);
      outgoing.on("error", (error) => {
        clearTimeout(deadline);
        // An abort by the caller's own signal is the caller's stop, not a timeout.
        reject(
          call.signal?.aborted ? new KubeTransportError("Closed", "the request was aborted") : fail(error),
        );
      });
      outgoing.end();
    });
  }

  return {
    open,
    /** A GET whose whole answer (headers and body) must arrive within the request timeout. */
    async getJson(path: string, query: Record<string, string | undefined> = {}): Promise<unknown> {
      const deadline = AbortSignal.timeout(options.timeoutMs);
      try {
        const response = await open(path, query, { signal: deadline });
        return JSON.parse(await readText(response));
      } catch (error) {
        if (deadline.aborted && !options.signal.aborted) {
          throw new KubeTransportError(
            "Timeout",
            `no answer from the API server at ${options.server} in time`,
          );
        }
        throw fail(error);
      }
    },
    fail,
  };
}

export type RawHttp = ReturnType<typeof createRawHttp>;
