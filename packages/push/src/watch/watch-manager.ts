import type { ClusterClient } from "../client/cluster-client.ts";
import {
  APPLICATION_INSTANCES,
  CLUSTERS,
  collectionPath,
  OPERATIONS,
  type VworkspaceResource,
} from "../resources.ts";
import { type BackoffPolicy, DEFAULT_BACKOFF } from "./backoff.ts";
import { createObjectTracker } from "./object-tracker.ts";
import { runReflector } from "./reflector.ts";
import type { PushChange, StreamHealth, WatchHealth } from "./types.ts";

export interface WatchManagerOptions {
  client: ClusterClient;
  /** The control plane's id of the cluster (heartbeats name it). */
  clusterId: string;
  /** The allowed namespaces, as concrete names: one list+watch per namespace and kind. */
  namespaces: readonly string[];
  /**
   * Takes each change, in order per stream; awaited before the stream reads on. Should hand it on
   * (an outbox, a queue) and return: a change it throws for is offered again after a backoff.
   */
  onChange: (change: PushChange) => void | Promise<void>;
  /** Told of every stream failure (the stream retries by itself); for logs and metrics. */
  onError?: (error: Error, stream: Readonly<StreamHealth>) => void;
  /** Watch only the Cluster CR of this name (a field selector); all of them by default. */
  clusterResourceName?: string;
  clock?: { now(): Date };
  random?: () => number;
  backoff?: Partial<BackoffPolicy>;
  /**
   * Watches last a random time between this and twice this (client-go: 5 to 10 minutes); 0 leaves
   * it to the API server.
   */
  watchTimeoutSeconds?: number;
  pageSize?: number;
}

/**
 * The watches of one push cluster: ApplicationInstances and Operations in each allowed namespace
 * (per namespace, not all-namespaces with a client-side filter: that would need the
 * credential to read every tenant's objects cluster-wide) and the cluster-scoped Cluster CR(s).
 * Changes come out as PushChange; health() tells how every stream is doing.
 */
export function createWatchManager(options: WatchManagerOptions) {
  const clock = options.clock ?? { now: () => new Date() };
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const targets: { resource: VworkspaceResource; namespace?: string }[] = [
    ...options.namespaces.flatMap((namespace) => [
      { resource: APPLICATION_INSTANCES, namespace },
      { resource: OPERATIONS, namespace },
    ]),
    { resource: CLUSTERS },
  ];
  const streams = targets.map((target) => ({
    target,
    health: {
      resource: target.resource.plural,
      ...(target.namespace ? { namespace: target.namespace } : {}),
      connected: false,
      relists: 0,
      reconnects: 0,
    } as StreamHealth,
  }));
  let running: { controller: AbortController; done: Promise<unknown> } | undefined;

  function start() {
    if (running) return;
    const controller = new AbortController();
    const done = Promise.all(
      streams.map(({ target, health }) =>
        runReflector({
          http: options.client.http,
          path: collectionPath(target.resource, target.namespace),
          fieldSelector:
            target.resource === CLUSTERS && options.clusterResourceName
              ? `metadata.name=${options.clusterResourceName}`
              : undefined,
          tracker: createObjectTracker({
            resource: target.resource,
            clusterId: options.clusterId,
            emit: async (change) => options.onChange(change),
            now: () => clock.now(),
          }),
          health,
          signal: controller.signal,
          backoff,
          watchTimeoutSeconds: options.watchTimeoutSeconds ?? 300,
          pageSize: options.pageSize ?? 500,
          random: options.random ?? Math.random,
          now: () => clock.now(),
          onError: (error) => options.onError?.(error, health),
        }),
      ),
    );
    running = { controller, done };
  }

  return {
    /** Lists and watches every stream until stop(); calling it again while running does nothing. */
    start,
    /** Aborts every list and watch, open or opening, and resolves once all streams have ended. */
    async stop() {
      const current = running;
      running = undefined;
      if (!current) return;
      current.controller.abort();
      await current.done;
    },
    health(): WatchHealth {
      const copies = streams.map(({ health }) => structuredClone(health));
      return { connected: copies.every((stream) => stream.connected), streams: copies };
    },
  };
}

export type WatchManager = ReturnType<typeof createWatchManager>;
