import { AGENT_MEDIA_TYPE, ErrorEnvelope } from "@vwksp/protocol";
import { AgentApiError, TransportError } from "../errors.ts";
import { parseRetryAfter } from "../retry.ts";
import { describeTransportFailure } from "./transport-errors.ts";

export type Fetch = typeof fetch;

/** The Go client's totals: register 2 min, every other call 5 min (long-polls included). */
export const REGISTER_TIMEOUT_MS = 120_000;
export const CALL_TIMEOUT_MS = 300_000;

export interface AgentRequest {
  method: "GET" | "POST";
  path: string;
  token: string;
  /** JSON body; `undefined` sends no body and no Content-Type (ack). */
  body?: unknown;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

export interface AgentResponse {
  status: number;
  json: unknown;
}

/**
 * One request exactly as the Go operator makes it: Bearer token, the agent media type as
 * Accept, and as Content-Type only when there is a body. Non-2xx answers become AgentApiError
 * with the server's envelope; a caller's abort is rethrown as is so loops can tell a stop from
 * a failure.
 */
export async function agentRequest(
  baseUrl: string,
  request: AgentRequest,
  fetchImpl: Fetch = fetch,
  now: () => Date = () => new Date(),
): Promise<AgentResponse> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${request.token}`,
    accept: AGENT_MEDIA_TYPE,
  };
  if (request.body !== undefined) headers["content-type"] = AGENT_MEDIA_TYPE;
  const timeout = AbortSignal.timeout(request.timeoutMs ?? CALL_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  const url = `${baseUrl.replace(/\/+$/, "")}${request.path}`;

  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(url, {
      method: request.method,
      headers,
      ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (request.signal?.aborted) throw error;
    const reason = timeout.aborted
      ? `no answer from ${new URL(url).origin} within ${Math.round((request.timeoutMs ?? CALL_TIMEOUT_MS) / 1000)} s`
      : describeTransportFailure(url, error);
    throw new TransportError(`${request.method} ${request.path}: ${reason}`, { cause: error });
  }

  if (response.status < 200 || response.status > 299) {
    const envelope = ErrorEnvelope.partial().safeParse(safeJson(text));
    const body = envelope.success ? envelope.data : {};
    throw new AgentApiError(
      response.status,
      body.error ?? "http_error",
      body.message || response.statusText || `HTTP ${response.status}`,
      body.requestId ?? response.headers.get("x-request-id") ?? undefined,
      parseRetryAfter(response.headers.get("retry-after"), now()),
    );
  }
  return { status: response.status, json: text.length > 0 ? safeJson(text) : undefined };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
