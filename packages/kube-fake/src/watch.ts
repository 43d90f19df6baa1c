import type { ServerResponse } from "node:http";
import { groupVersionOf, type ResourceType } from "./resources.ts";
import { type Status, statusBody } from "./status.ts";
import type { Change, EventType, ObjectStore } from "./store.ts";
import type { KubeObject } from "./types.ts";

export interface WatchRequest {
  resource: ResourceType;
  namespace: string | undefined;
  matches: (object: KubeObject) => boolean;
  /** Replay changes after this resourceVersion; undefined: start with ADDED for what exists now. */
  since: number | undefined;
  bookmarks: boolean;
  /** sendInitialEvents=true: a bookmark marked `k8s.io/initial-events-end` follows the initial ADDED. */
  initialEventsEnd: boolean;
  timeoutMs: number;
  response: ServerResponse;
}

/** A BOOKMARK carries an object of the watched kind with nothing but its resourceVersion. */
interface Bookmark {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; creationTimestamp: null; annotations?: Record<string, string> };
}

type Frame =
  | { type: EventType; object: KubeObject }
  | { type: "BOOKMARK"; object: Bookmark }
  | { type: "ERROR"; object: Status };

export type WatchHub = ReturnType<typeof createWatchHub>;

/** Open watch streams: one JSON event per line over a chunked 200 response. */
export function createWatchHub(store: ObjectStore, options: { bookmarkIntervalMs: number }) {
  const open = new Set<{ request: WatchRequest; bookmark: () => void; end: () => void; cut: () => void }>();

  /** How a change looks through a selector: moving in is ADDED, moving out is DELETED. */
  function translate(request: WatchRequest, change: Change): Frame | undefined {
    if (change.resource !== request.resource) return undefined;
    const namespace = change.object.metadata.namespace;
    if (request.namespace !== undefined && namespace !== request.namespace) return undefined;
    const now = change.type !== "DELETED" && request.matches(change.object);
    const before = change.previous !== undefined && request.matches(change.previous);
    if (change.type === "ADDED") return now ? { type: "ADDED", object: change.object } : undefined;
    if (change.type === "DELETED") return before ? { type: "DELETED", object: change.object } : undefined;
    if (now) return { type: before ? "MODIFIED" : "ADDED", object: change.object };
    return before ? { type: "DELETED", object: change.object } : undefined;
  }

  function start(request: WatchRequest) {
    const { response } = request;
    response.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
    // Headers go out at once, as the API server flushes them, so clients see the watch open.
    response.flushHeaders();
    const write = (frame: Frame) => {
      if (!response.writableEnded) response.write(`${JSON.stringify(frame)}\n`);
    };
    const bookmarkObject = (annotations?: Record<string, string>): Bookmark => ({
      kind: request.resource.kind,
      apiVersion: groupVersionOf(request.resource),
      metadata: {
        resourceVersion: String(store.revision()),
        creationTimestamp: null,
        ...(annotations ? { annotations } : {}),
      },
    });
    const bookmark = () => {
      if (request.bookmarks) write({ type: "BOOKMARK", object: bookmarkObject() });
    };

    const replay = request.since === undefined ? [] : store.changesSince(request.since);
    if (replay === undefined) {
      const oldest = store.compactedRevision();
      write({
        type: "ERROR",
        object: statusBody(410, "Expired", `too old resource version: ${request.since} (${oldest})`),
      });
      response.end();
      return;
    }
    if (request.since === undefined) {
      for (const object of store.list(request.resource, request.namespace).filter(request.matches)) {
        write({ type: "ADDED", object });
      }
      if (request.initialEventsEnd) {
        write({ type: "BOOKMARK", object: bookmarkObject({ "k8s.io/initial-events-end": "true" }) });
      }
    }
    for (const change of replay) {
      const frame = translate(request, change);
      if (frame) write(frame);
    }
    const unsubscribe = store.subscribe((change) => {
      const frame = translate(request, change);
      if (frame) write(frame);
    });
    const timers = [
      setInterval(bookmark, options.bookmarkIntervalMs),
      // A real server ends every watch after its timeout; clients are expected to resume.
      setTimeout(() => entry.end(), request.timeoutMs),
    ];
    // Ended by the server (timeout, dropWatches) or by the client going away: either way, done.
    const release = () => {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      open.delete(entry);
    };
    const finish = () => {
      release();
      if (!response.writableEnded) response.end();
    };
    // A network failure rather than a server's decision: the socket dies, no clean end.
    const cut = () => {
      release();
      response.socket?.destroy();
    };
    const entry = { request, bookmark, end: finish, cut };
    open.add(entry);
    response.on("close", finish);
  }

  return {
    start,
    count: () => open.size,
    /** Every open watch gets a BOOKMARK now (those that asked for bookmarks). */
    sendBookmarks() {
      for (const entry of open) entry.bookmark();
    },
    /** Ends every watch stream cleanly, as an API server does at its watch timeout. */
    endAll() {
      for (const entry of open) entry.end();
    },
    /** Cuts every watch connection, as a network failure or a load balancer would. */
    cutAll() {
      for (const entry of open) entry.cut();
    },
  };
}
