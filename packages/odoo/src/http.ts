import { OdooError } from "./errors.ts";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpDeps {
  fetch: FetchLike;
  timeoutMs: number;
  /** Scrubbed from every error text. */
  secrets: readonly string[];
}

export interface RawResponse {
  status: number;
  contentType: string;
  /** Set on 3xx answers, which are never followed. */
  location: string | undefined;
  text: string;
}

export interface CallTarget {
  model?: string;
  method?: string;
}

/** POSTs and reads the whole body under one deadline; network failures become OdooErrors. */
export async function post(
  deps: HttpDeps,
  url: string,
  headers: Record<string, string>,
  body: string,
  target: CallTarget,
): Promise<RawResponse> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, deps.timeoutMs);
  try {
    // Redirects are not followed: a 307/308 would re-send the body, API key included, elsewhere.
    const response = await deps.fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: controller.signal,
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      location: response.headers.get("location") ?? undefined,
      text,
    };
  } catch (error) {
    throw networkError(error, timedOut, deps, new URL(url).pathname, target);
  } finally {
    clearTimeout(timer);
  }
}

function networkError(
  error: unknown,
  timedOut: boolean,
  deps: HttpDeps,
  path: string,
  target: CallTarget,
): OdooError {
  const cause = describeCause(error);
  const reason = timedOut ? `timed out after ${deps.timeoutMs} ms` : (cause.code ?? cause.message);
  return new OdooError({
    transport: "network",
    kind: timedOut ? "timeout" : "network",
    retryable: true,
    message: `Odoo request to ${path} failed: ${reason}`,
    secrets: deps.secrets,
    cause,
    ...target,
  });
}

function describeCause(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  // undici wraps the socket error (ECONNREFUSED, ECONNRESET, ...) in `cause`.
  const inner: unknown = error.cause;
  const code =
    inner instanceof Error && "code" in inner && typeof inner.code === "string" ? inner.code : undefined;
  const message = inner instanceof Error ? `${error.message}: ${inner.message}` : error.message;
  return code === undefined ? { name: error.name, message } : { name: error.name, code, message };
}
