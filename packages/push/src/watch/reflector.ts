import { KubeStatusError, KubeTransportError, statusFromBody } from "../client/kube-errors.ts";
import type { RawHttp } from "../client/raw-http.ts";
import { type BackoffPolicy, backoffDelay, pause } from "./backoff.ts";
import type { ObjectTracker } from "./object-tracker.ts";
import type { StreamHealth } from "./types.ts";
import { type WatchEvent, watchEvents } from "./watch-stream.ts";

/** The change handler refused a change: after a backoff the stream offers it again. */
export class ChangeHandlerError extends Error {
  override readonly name = "ChangeHandlerError";
}

export interface ReflectorDeps {
  http: RawHttp;
  /** The collection: one namespace's objects, or a cluster-scoped kind's. */
  path: string;
  fieldSelector?: string | undefined;
  tracker: ObjectTracker;
  /** Updated in place; the manager hands out copies. */
  health: StreamHealth;
  signal: AbortSignal;
  backoff: BackoffPolicy;
  /** The server ends each watch after a random time between this and twice this (client-go's spread). */
  watchTimeoutSeconds: number;
  pageSize: number;
  random: () => number;
  now: () => Date;
  onError: (error: Error) => void;
}

type Json = Record<string, unknown>;
/** The API server ends a watch without timeoutSeconds within twice --min-request-timeout (30 min). */
const MAX_SERVER_WATCH_SECONDS = 3_600;
const versionOf = (object: Json) => String((object.metadata as Json | undefined)?.resourceVersion ?? "");

function describeError(error: Error) {
  if (error instanceof KubeTransportError) return error.reason;
  if (error instanceof KubeStatusError) return error.reason ?? `HTTP ${error.statusCode}`;
  return error.name;
}

/**
 * List, then watch from the list's resourceVersion with bookmarks, resuming from the last
 * resourceVersion seen; list again on 410 Gone; after any other failure wait (jittered
 * exponential backoff) and resume. Runs until the signal aborts; never throws.
 */
export async function runReflector(deps: ReflectorDeps): Promise<void> {
  const { health, signal } = deps;
  let resourceVersion = "";
  let attempt = 0;
  let lists = 0;
  let watches = 0;

  async function list() {
    const items: Json[] = [];
    let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: Json[] } = {};
    do {
      page = (await deps.http.getJson(deps.path, {
        limit: String(deps.pageSize),
        continue: page.metadata?.continue,
        fieldSelector: deps.fieldSelector,
      })) as typeof page;
      items.push(...(page.items ?? []));
    } while (page.metadata?.continue);
    await offer(() => deps.tracker.replace(items));
    if (lists++ > 0) health.relists += 1;
    health.lastEventAt = deps.now().toISOString();
    return page.metadata?.resourceVersion ?? "";
  }

  async function offer(work: () => Promise<void>) {
    try {
      await work();
    } catch (error) {
      throw new ChangeHandlerError(
        `the change handler failed: ${error instanceof Error ? error.message : error}`,
      );
    }
  }

  /**
   * One watch request from `resourceVersion`, which moves with every event handled: a watch that
   * breaks resumes after the last event taken, never replaying older states (an object's
   * conditions going back and forth would be reported twice). 410 Gone empties it: list again.
   */
  async function watch(): Promise<number> {
    let received = 0;
    const timeoutSeconds = Math.floor(deps.watchTimeoutSeconds * (1 + deps.random()));
    const events = watchEvents(
      deps.http,
      deps.path,
      {
        resourceVersion,
        allowWatchBookmarks: "true",
        // 0: the server's own default (the API server's --min-request-timeout spread).
        timeoutSeconds: timeoutSeconds > 0 ? String(timeoutSeconds) : undefined,
        fieldSelector: deps.fieldSelector,
      },
      {
        signal,
        maxLifetimeMs: ((timeoutSeconds || MAX_SERVER_WATCH_SECONDS) + 30) * 1000,
        onOpen: () => {
          if (watches++ > 0) health.reconnects += 1;
          health.connected = true;
        },
      },
    );
    for await (const event of events as AsyncIterable<WatchEvent>) {
      health.lastEventAt = deps.now().toISOString();
      if (event.type === "ERROR") {
        const status = statusFromBody(Number(event.object.code ?? 500), event.object);
        if (status.statusCode !== 410) throw status;
        resourceVersion = "";
        return received;
      }
      // A stream that delivers is a working one: the next failure starts the backoff over.
      received += 1;
      attempt = 0;
      if (event.type === "ADDED" || event.type === "MODIFIED")
        await offer(() => deps.tracker.upsert(event.object));
      if (event.type === "DELETED") deps.tracker.remove(event.object);
      resourceVersion = versionOf(event.object) || resourceVersion;
      health.resourceVersion = resourceVersion;
    }
    return received;
  }

  while (!signal.aborted) {
    try {
      if (!resourceVersion) resourceVersion = await list();
      health.resourceVersion = resourceVersion;
      const openedAt = deps.now().getTime();
      const received = await watch();
      health.connected = false;
      // A server or proxy that ends every watch at once must not be asked again in a tight loop.
      if (received === 0 && resourceVersion && deps.now().getTime() - openedAt < 1_000) {
        await pause(backoffDelay(deps.backoff, attempt++, deps.random), signal);
      }
    } catch (caught) {
      health.connected = false;
      if (signal.aborted) break;
      const error = caught instanceof Error ? caught : new Error(String(caught));
      health.lastError = {
        reason: describeError(error),
        message: error.message,
        at: deps.now().toISOString(),
      };
      deps.onError(error);
      if (error instanceof KubeStatusError && error.statusCode === 410 && resourceVersion) {
        // The watch's history is gone: list again at once (a list that fails waits, below).
        resourceVersion = "";
        continue;
      }
      // A change the handler refused is offered again: resourceVersion has not moved past it.
      await pause(backoffDelay(deps.backoff, attempt++, deps.random), signal);
    }
  }
  health.connected = false;
}
