import { StringDecoder } from "node:string_decoder";
import { KubeTransportError } from "../client/kube-errors.ts";
import type { RawHttp } from "../client/raw-http.ts";

/** One line of a watch stream, as the API server writes it. */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, unknown>;
}

export interface WatchStreamOptions {
  /** The caller's stop: aborts the request, opening or open. */
  signal: AbortSignal;
  /**
   * How long the stream may stay open. The server ends it at its timeoutSeconds; a connection
   * still open well past that is half-open (the peer is gone without a FIN) and is dropped.
   */
  maxLifetimeMs: number;
  /** Called once the server accepted the watch (200 and headers). */
  onOpen?: () => void;
}

/**
 * The events of one watch request, in order. Ends when the server ends the stream (or at
 * maxLifetimeMs); throws KubeStatusError when the watch is refused, KubeTransportError when the
 * connection fails, and a `Closed` KubeTransportError when the caller's signal stops it.
 */
export async function* watchEvents(
  http: RawHttp,
  path: string,
  query: Record<string, string | undefined>,
  options: WatchStreamOptions,
): AsyncGenerator<WatchEvent> {
  const lifetime = new AbortController();
  const timer = setTimeout(() => lifetime.abort(), options.maxLifetimeMs);
  const signal = AbortSignal.any([options.signal, lifetime.signal]);
  let response: Awaited<ReturnType<RawHttp["open"]>> | undefined;
  try {
    response = await http.open(path, { ...query, watch: "1" }, { signal });
    options.onOpen?.();
    const decoder = new StringDecoder("utf8");
    let buffer = "";
    for await (const chunk of response) {
      buffer += decoder.write(chunk as Buffer);
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line) yield JSON.parse(line) as WatchEvent;
      }
    }
  } catch (error) {
    if (options.signal.aborted) throw new KubeTransportError("Closed", "the watch was stopped");
    // Our own lifetime cap: as if the server had ended the watch; the caller resumes.
    if (lifetime.signal.aborted) return;
    throw http.fail(error);
  } finally {
    clearTimeout(timer);
    response?.destroy();
  }
}
