import { Watch } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { applicationInstance, clientsFor, instanceRef, vaultSpec } from "./support/clients.ts";
import { eventually } from "./support/eventually.ts";

let fake: KubeFake;
let watch: Watch;
const COLLECTION = "/apis/apps.vworkspace.io/v1alpha1/namespaces/org-a/applicationinstances";

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a", "org-b"], bookmarkIntervalMs: 100 });
  watch = new Watch(clientsFor(fake).config);
});
afterAll(() => fake?.close());

interface Seen {
  type: string;
  name: string | undefined;
  resourceVersion: string | undefined;
  object: Record<string, unknown>;
}

/** A client-node watch that records what it sees, and how it ended. */
async function watching(path: string, query: Record<string, string | boolean>) {
  const seen: Seen[] = [];
  let ended: unknown = "open";
  const controller = await watch.watch(
    path,
    query,
    (type, object) => {
      seen.push({
        type,
        name: object.metadata?.name,
        resourceVersion: object.metadata?.resourceVersion,
        object,
      });
    },
    (error) => {
      ended = error;
    },
  );
  return {
    seen,
    ended: () => ended,
    types: () => seen.map((event) => `${event.type} ${event.name ?? ""}`.trim()),
    stop: () => controller.abort(),
  };
}

const instance = (name: string, version = "1.0.0", labels?: Record<string, string>) => {
  const object = applicationInstance("org-a", name, vaultSpec(version));
  return labels ? { ...object, metadata: { ...object.metadata, labels } } : object;
};
describe("watch", () => {
  it("streams ADDED, MODIFIED and DELETED after the resourceVersion it starts from", async () => {
    const from = fake.resourceVersion();
    const stream = await watching(COLLECTION, { resourceVersion: from });
    const created = fake.apply(instance("vault"), "vworkspace-control-plane");
    const ready = fake.setCondition(instanceRef("org-a", "vault"), {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
    });
    fake.remove(instanceRef("org-a", "vault"));
    await eventually(() =>
      expect(stream.types()).toEqual(["ADDED vault", "MODIFIED vault", "DELETED vault"]),
    );
    const [added, modified, deleted] = stream.seen;
    expect(added?.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(modified?.object.status).toEqual(ready.status);
    expect(Number(deleted?.resourceVersion)).toBe(Number(ready.metadata.resourceVersion) + 1);
    stream.stop();
  });

  it("starts with ADDED for what exists when no resourceVersion is given, then follows", async () => {
    fake.apply(instance("one"), "vworkspace-control-plane");
    fake.apply({ ...applicationInstance("org-b", "elsewhere", vaultSpec()) }, "vworkspace-control-plane");
    const stream = await watching(COLLECTION, {});
    await eventually(() => expect(stream.types()).toEqual(["ADDED one"]));
    const everywhere = await watching("/apis/apps.vworkspace.io/v1alpha1/applicationinstances", {});
    await eventually(() => expect(everywhere.types()).toEqual(["ADDED one", "ADDED elsewhere"]));
    stream.stop();
    everywhere.stop();
  });

  it("marks the end of the initial events for sendInitialEvents, and ends at timeoutSeconds", async () => {
    const stream = await watching(COLLECTION, {
      sendInitialEvents: true,
      resourceVersionMatch: "NotOlderThan",
      allowWatchBookmarks: true,
      timeoutSeconds: "1",
    });
    // Periodic bookmarks (every 100 ms here) may follow; the first two are the initial events.
    await eventually(() => expect(stream.types().slice(0, 2)).toEqual(["ADDED one", "BOOKMARK"]));
    expect(stream.seen[1]?.object).toMatchObject({
      metadata: {
        annotations: { "k8s.io/initial-events-end": "true" },
        resourceVersion: fake.resourceVersion(),
      },
    });
    await eventually(() => expect(stream.ended()).toBeNull());
  });

  it("sends bookmarks only to watches that allow them, at the current resourceVersion", async () => {
    const withBookmarks = await watching(COLLECTION, {
      resourceVersion: fake.resourceVersion(),
      allowWatchBookmarks: true,
    });
    const without = await watching(COLLECTION, { resourceVersion: fake.resourceVersion() });
    await eventually(() => expect(withBookmarks.types()).toContain("BOOKMARK"));
    expect(withBookmarks.seen[0]?.object).toEqual({
      kind: "ApplicationInstance",
      apiVersion: "apps.vworkspace.io/v1alpha1",
      metadata: { resourceVersion: fake.resourceVersion(), creationTimestamp: null },
    });
    fake.apply(instance("two"), "vworkspace-control-plane");
    await eventually(() => expect(without.types()).toEqual(["ADDED two"]));
    withBookmarks.stop();
    without.stop();
  });

  it("turns label changes into ADDED and DELETED for a selective watch", async () => {
    const stream = await watching(COLLECTION, {
      resourceVersion: fake.resourceVersion(),
      labelSelector: "team=a",
    });
    fake.apply(instance("labelled", "1.0.0", { team: "a" }), "vworkspace-control-plane");
    fake.apply(instance("labelled", "1.0.0", { team: "b" }), "vworkspace-control-plane");
    fake.apply(instance("labelled", "1.0.1", { team: "b" }), "vworkspace-control-plane");
    fake.apply(instance("labelled", "1.0.1", { team: "a" }), "vworkspace-control-plane");
    await eventually(() =>
      expect(stream.types()).toEqual(["ADDED labelled", "DELETED labelled", "ADDED labelled"]),
    );
    stream.stop();
  });

  it("answers a resourceVersion older than the compaction with an ERROR 410 event, then ends", async () => {
    const old = fake.resourceVersion();
    fake.apply(instance("three"), "vworkspace-control-plane");
    fake.compact();
    const stream = await watching(COLLECTION, { resourceVersion: old });
    await eventually(() => expect(stream.ended()).toBeNull());
    expect(stream.seen).toEqual([
      {
        type: "ERROR",
        name: undefined,
        resourceVersion: undefined,
        object: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${old} (${fake.resourceVersion()})`,
          reason: "Expired",
          code: 410,
        },
      },
    ]);
    expect(fake.requests.at(-1)).toMatchObject({ code: 200, query: expect.any(URLSearchParams) });
    expect(fake.requests.at(-1)?.query.get("resourceVersion")).toBe(old);
  });

  it("watches the cluster-scoped Cluster CR and its heartbeat", async () => {
    fake.put({
      apiVersion: "ops.vworkspace.io/v1alpha1",
      kind: "Cluster",
      metadata: { name: "vworkspace" },
      spec: { clusterId: "c-1" },
    });
    const stream = await watching("/apis/ops.vworkspace.io/v1alpha1/clusters", {
      resourceVersion: fake.resourceVersion(),
    });
    const at = new Date("2026-12-01T10:00:00Z");
    fake.heartbeat("vworkspace", at);
    await eventually(() => expect(stream.types()).toEqual(["MODIFIED vworkspace"]));
    expect(stream.seen[0]?.object.status).toEqual({
      conditions: [
        {
          type: "Connected",
          status: "True",
          observedGeneration: 1,
          lastTransitionTime: "2026-12-01T10:00:00Z",
          reason: "HeartbeatSucceeded",
          message: "",
        },
      ],
      lastHeartbeat: "2026-12-01T10:00:00Z",
    });
    stream.stop();
  });
});
