import { HEARTBEAT_KIND } from "@vwksp/protocol";
import {
  type ClusterClient,
  createClusterClient,
  createWatchManager,
  type PushChange,
  type WatchManager,
  type WatchManagerOptions,
} from "@vwksp/push";
import type { Clock } from "../clock.ts";
import type { AgentPrincipal } from "../credentials/credentials.service.ts";
import type { Db } from "../db.ts";
import type { EventsService } from "../events/events.service.ts";
import { concreteNamespaces, type PushCredentialsService } from "./push-credentials.service.ts";

/** Who owns which push cluster's watches (a Redis lease per cluster; @vwksp/queue createLeases). */
export interface ClusterLeases {
  acquire(clusterId: string): Promise<boolean>;
  renew(clusterId: string): Promise<boolean>;
  release(clusterId: string): Promise<void>;
  /** Announces this worker alive and answers how many are. */
  announce(): Promise<number>;
  withdraw(): Promise<void>;
}

export type PushWatchOptions = Partial<Pick<WatchManagerOptions, "backoff" | "watchTimeoutSeconds">>;

interface Deps {
  db: Db;
  clock: Clock;
  credentials: Pick<PushCredentialsService, "kubeconfigOf" | "pushClusterIds">;
  events: Pick<EventsService, "ingest">;
  leases: ClusterLeases;
  /**
   * How long a lease lasts unrenewed: watches whose lease this worker could not renew for most
   * of it stop (Redis unreachable), before another worker can take the cluster.
   */
  leaseMs: number;
  /** A Cluster CR heartbeat older than this is history (a re-list after an outage), not contact. */
  heartbeatFreshSeconds: number;
  requestTimeoutMs?: number;
  /** Tests shorten the watches' backoff. */
  watchOptions?: PushWatchOptions;
  onError?: (error: unknown, context: string, clusterId?: string) => void;
  onInfo?: (message: string, clusterId: string) => void;
}

interface Owned {
  manager: WatchManager;
  client: ClusterClient;
  /** What the watches were started with: a change (new kubeconfig, namespaces) restarts them. */
  version: string;
  /** When the lease was last taken or renewed (ms). */
  heldAt: number;
}

/**
 * Push mode's status path: for every push cluster one worker (the holder of its lease) keeps the
 * watches on its ApplicationInstances, Operations and Cluster CR(s), and hands what they report
 * to the events service exactly as an agent's events — the same de-duplication by eventKey, the
 * same projection, audit and application states; the Cluster CR's heartbeat goes to the
 * heartbeat path (lastSeenAt, reconnection). Each worker takes about its share of the clusters;
 * a worker that dies loses its leases when they run out and the others take its clusters.
 */
export function createPushWatchSupervisor({
  db,
  clock,
  credentials,
  events,
  leases,
  leaseMs,
  heartbeatFreshSeconds,
  requestTimeoutMs,
  watchOptions = {},
  onError,
  onInfo,
}: Deps) {
  const owned = new Map<string, Owned>();
  let ticking: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function principalOf(clusterId: string): Promise<AgentPrincipal | undefined> {
    const cluster = await db.cluster.findUnique({
      where: { id: clusterId },
      select: { organizationId: true },
    });
    return cluster
      ? { clusterId, organizationId: cluster.organizationId, credentialId: "push", expiresAt: null }
      : undefined;
  }

  function onChangeFor(principal: AgentPrincipal) {
    return async (change: PushChange) => {
      if (change.type === "ClusterHeartbeat") {
        // The coalescer stamps receive time: only a heartbeat the operator wrote recently is contact.
        const age = clock.now().getTime() - Date.parse(change.lastHeartbeat);
        if (!(age <= heartbeatFreshSeconds * 1000)) return;
        await events.ingest(principal, [{ ...change.event, kind: HEARTBEAT_KIND }]);
        return;
      }
      await events.ingest(principal, [change.event]);
    };
  }

  async function versionOf(clusterId: string) {
    const [cluster, credential] = await Promise.all([
      db.cluster.findUnique({ where: { id: clusterId }, select: { allowedNamespaces: true } }),
      db.pushCredential.findUnique({ where: { clusterId }, select: { updatedAt: true } }),
    ]);
    if (!cluster || !credential) return undefined;
    const namespaces = concreteNamespaces(cluster.allowedNamespaces);
    return { namespaces, version: `${credential.updatedAt.toISOString()}|${namespaces.join(",")}` };
  }

  async function startWatching(clusterId: string) {
    const [kubeconfig, wanted, principal] = await Promise.all([
      credentials.kubeconfigOf(clusterId),
      versionOf(clusterId),
      principalOf(clusterId),
    ]);
    if (!kubeconfig || !wanted || !principal) return false;
    const client = createClusterClient(kubeconfig, requestTimeoutMs ? { requestTimeoutMs } : {});
    const manager = createWatchManager({
      client,
      clusterId,
      namespaces: wanted.namespaces,
      onChange: onChangeFor(principal),
      onError: (error, stream) =>
        onError?.(
          error,
          `push watch ${stream.resource}${stream.namespace ? ` in ${stream.namespace}` : ""}`,
          clusterId,
        ),
      clock,
      ...watchOptions,
    });
    manager.start();
    owned.set(clusterId, { manager, client, version: wanted.version, heldAt: Date.now() });
    onInfo?.("watching push cluster", clusterId);
    return true;
  }

  async function stopWatching(clusterId: string, release: boolean) {
    const entry = owned.get(clusterId);
    owned.delete(clusterId);
    if (entry) {
      await entry.manager
        .stop()
        .catch((error: unknown) => onError?.(error, "stopping push watches", clusterId));
      entry.client.close();
    }
    if (release) await leases.release(clusterId).catch(() => {});
  }

  /**
   * Watches whose lease could not be renewed for 80 % of its length stop, whatever Redis says
   * later: by the time it runs out another worker may hold it, and two never watch one cluster.
   */
  async function expireUnconfirmed() {
    const limit = Date.now() - leaseMs * 0.8;
    for (const [clusterId, entry] of [...owned.entries()]) {
      if (entry.heldAt < limit) {
        onInfo?.("could not renew the lease on a push cluster's watches: stopping them", clusterId);
        await stopWatching(clusterId, false);
      }
    }
  }

  /** One round: renew what is held, let go of what is gone or over the share, take what is free. */
  async function tick() {
    const workers = await leases.announce();
    // Leases first: a database hiccup below must not keep them from being renewed.
    for (const clusterId of [...owned.keys()]) {
      const renewed = await leases.renew(clusterId).catch((error: unknown) => {
        onError?.(error, "renewing a push watch lease failed", clusterId);
        return undefined; // expireUnconfirmed stops the watches if this goes on
      });
      if (renewed === false) {
        onInfo?.("lost the lease on a push cluster's watches", clusterId);
        await stopWatching(clusterId, false);
      } else if (renewed) {
        const entry = owned.get(clusterId);
        if (entry) entry.heldAt = Date.now();
      }
    }
    const clusters = await credentials.pushClusterIds();
    const wanted = new Set(clusters);
    const share = Math.ceil(clusters.length / workers);
    for (const clusterId of [...owned.keys()]) {
      if (!wanted.has(clusterId)) {
        await stopWatching(clusterId, true);
        continue;
      }
      const current = await versionOf(clusterId);
      if (current && current.version !== owned.get(clusterId)?.version) {
        await stopWatching(clusterId, false);
        await startWatching(clusterId);
      }
    }
    // More than the share (a worker joined): hand one back per round, the others take it.
    if (owned.size > share) {
      const [surplus] = [...owned.keys()].slice(share);
      if (surplus) await stopWatching(surplus, true);
    }
    // Start from a different place each round so workers do not all race for the same clusters.
    const offset = clusters.length > 0 ? Math.floor(Math.random() * clusters.length) : 0;
    const order = [...clusters.slice(offset), ...clusters.slice(0, offset)];
    for (const clusterId of order) {
      if (stopped || owned.size >= share) break;
      if (owned.has(clusterId)) continue;
      if (!(await leases.acquire(clusterId))) continue;
      try {
        if (!(await startWatching(clusterId))) await leases.release(clusterId);
      } catch (error) {
        onError?.(error, "starting push watches", clusterId);
        await leases.release(clusterId).catch(() => {});
      }
    }
  }

  /** Runs one round now (tests; the timer otherwise), never two at once. */
  function runOnce(): Promise<void> {
    ticking ??= tick()
      .catch((error: unknown) => onError?.(error, "push watch supervision"))
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  }

  /** No more rounds; once the running one is over, every watch stopped (`release`: its lease given back). */
  async function halt(release: boolean) {
    stopped = true;
    if (timer) clearInterval(timer);
    timer = undefined;
    await ticking;
    for (const clusterId of [...owned.keys()]) await stopWatching(clusterId, release);
  }

  return {
    /** Every `everyMs` (a third of the lease, so a lease is renewed twice before it runs out). */
    start(everyMs: number) {
      stopped = false;
      void runOnce();
      timer ??= setInterval(() => {
        void expireUnconfirmed().catch((error: unknown) => onError?.(error, "push watch lease check"));
        void runOnce();
      }, everyMs);
      timer.unref();
    },
    runOnce,
    /** Stops every watch and gives the leases back (a clean shutdown: others take over at once). */
    async stop() {
      await halt(true);
      await leases.withdraw().catch(() => {});
    },
    /**
     * Stops every round and watch without giving the leases back: what a killed process leaves
     * behind (tests of the takeover use it; the leases run out after PUSH_WATCH_LEASE_SECONDS).
     */
    async abandon() {
      await halt(false);
    },
    owned: () => [...owned.keys()],
    health: (clusterId: string) => owned.get(clusterId)?.manager.health(),
  };
}

export type PushWatchSupervisor = ReturnType<typeof createPushWatchSupervisor>;
