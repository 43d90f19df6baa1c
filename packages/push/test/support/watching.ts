import type { KubeFake } from "@vwksp/kube-fake";
import { expect } from "vitest";
import { createClusterClient } from "../../src/client/cluster-client.ts";
import type { PushKubeconfig } from "../../src/kubeconfig/types.ts";
import type { PushChange, StreamHealth } from "../../src/watch/types.ts";
import { createWatchManager, type WatchManagerOptions } from "../../src/watch/watch-manager.ts";
import { eventually, NAMESPACES } from "./cluster.ts";
import { CLUSTER_ID } from "./jobs.ts";

/** A watch manager on the fake, recording what it reports, with short backoffs for tests. */
export function startWatching(
  kube: KubeFake,
  kubeconfig: PushKubeconfig,
  overrides: Partial<WatchManagerOptions> = {},
) {
  const client = createClusterClient(kubeconfig, { requestTimeoutMs: 2_000 });
  const changes: PushChange[] = [];
  const errors: { error: Error; stream: StreamHealth }[] = [];
  const manager = createWatchManager({
    client,
    clusterId: CLUSTER_ID,
    namespaces: NAMESPACES,
    onChange: (change) => {
      changes.push(change);
    },
    onError: (error, stream) => errors.push({ error, stream: structuredClone(stream) }),
    backoff: { initialMs: 50, maxMs: 400 },
    ...overrides,
  });
  manager.start();

  const stream = (resource: StreamHealth["resource"], namespace?: string) => {
    const found = manager
      .health()
      .streams.find((health) => health.resource === resource && health.namespace === namespace);
    if (!found) throw new Error(`no ${resource} stream for ${namespace ?? "the cluster"}`);
    return found;
  };

  return {
    manager,
    client,
    changes,
    errors,
    stream,
    transitions: () =>
      changes.flatMap((change) => (change.type === "ConditionTransition" ? [change.event] : [])),
    heartbeats: () => changes.flatMap((change) => (change.type === "ClusterHeartbeat" ? [change] : [])),
    /** Every stream connected. */
    connected: () => eventually(() => expect(manager.health().connected).toBe(true)),
    /**
     * Waits until a stream has seen everything written so far (its resourceVersion caught up
     * with the store's): after that, a change not reported is a change not made.
     */
    caughtUp: (resource: StreamHealth["resource"], namespace?: string) =>
      eventually(() => expect(stream(resource, namespace).resourceVersion).toBe(kube.resourceVersion())),
    async close() {
      await manager.stop();
      client.close();
    },
  };
}
