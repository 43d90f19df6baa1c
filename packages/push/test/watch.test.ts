import type { KubeFake } from "@vwksp/kube-fake";
import { EventsBody } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterClient, createClusterClient } from "../src/client/cluster-client.ts";
import { createPushExecutor, type PushExecutor } from "../src/execute/executor.ts";
import type { PushKubeconfig } from "../src/kubeconfig/types.ts";
import { clusterResource, eventually, provisionPushCredential, startCluster } from "./support/cluster.ts";
import {
  APPS,
  applicationInstance,
  CLUSTER_ID,
  ensureJob,
  instanceRef,
  OPS,
  operation,
  requestOperationJob,
} from "./support/jobs.ts";
import { startWatching } from "./support/watching.ts";

let kube: KubeFake;
let kubeconfig: PushKubeconfig;
let client: ClusterClient;
let executor: PushExecutor;
let watching: ReturnType<typeof startWatching>;

beforeAll(async () => {
  kube = await startCluster({ bookmarkIntervalMs: 100 });
  ({ kubeconfig } = await provisionPushCredential(kube));
  client = createClusterClient(kubeconfig);
  executor = createPushExecutor({ client, clusterId: CLUSTER_ID });
  watching = startWatching(kube, kubeconfig);
  await watching.connected();
});
afterAll(async () => {
  await watching?.close();
  client?.close();
  await kube?.close();
});

const vault = instanceRef("org-a", "vault");

describe("watches", () => {
  it("reports an applied instance turning Ready once, keyed as the operator keys it", async () => {
    await executor.execute(ensureJob(applicationInstance("org-a", "vault")));
    const ready = kube.setCondition(vault, {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: "HelmRelease vault is ready",
    });
    const uid = ready.metadata.uid;
    const condition = (ready.status as { conditions: Record<string, unknown>[] }).conditions[0];
    await eventually(() => expect(watching.transitions()).toHaveLength(1));
    expect(watching.transitions()[0]).toEqual({
      eventKey: `condition/${APPS}/ApplicationInstance/org-a/vault/${uid}/Ready/True@1`,
      kind: "ConditionTransition",
      resourceRef: { ...vault, uid, generation: 1 },
      conditions: [condition],
      timestamp: condition?.lastTransitionTime,
    });

    // Unchanged apply (same generation), the same condition set again, other status fields: nothing.
    await executor.execute(ensureJob(applicationInstance("org-a", "vault")));
    kube.setCondition(vault, {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: "HelmRelease vault is ready",
    });
    kube.setStatus(vault, { ...(ready.status as object), lastReconcileTime: "2026-12-02T10:05:00Z" });
    await watching.caughtUp("applicationinstances", "org-a");
    expect(watching.transitions()).toHaveLength(1);
    expect(kube.get(vault)?.metadata.generation).toBe(1);
  });

  it("reports each transition of a new generation under its own key", async () => {
    const before = watching.transitions().length;
    await executor.execute(ensureJob(applicationInstance("org-a", "vault", "1.3.0")));
    kube.setCondition(vault, { type: "Ready", status: "False", reason: "Upgrading", message: "chart 1.3.0" });
    kube.setCondition(vault, {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: "HelmRelease vault is ready",
    });
    await eventually(() => expect(watching.transitions().length).toBe(before + 2));
    expect(
      watching
        .transitions()
        .slice(before)
        .map((event) => event.eventKey?.split("/").slice(-2).join("/")),
    ).toEqual(["Ready/False@2", "Ready/True@2"]);
  });

  it("reports Operations' conditions and the Cluster CR's heartbeats and conditions", async () => {
    await executor.execute(requestOperationJob(operation("org-b", "backup-1")));
    const opRef = { apiVersion: OPS, kind: "Operation", namespace: "org-b", name: "backup-1" };
    kube.setCondition(opRef, { type: "Running", status: "True", reason: "VeleroBackupStarted" });

    kube.put(clusterResource("cluster-prod-1", CLUSTER_ID));
    const first = new Date("2026-12-02T10:00:00Z");
    const beat = kube.heartbeat("cluster-prod-1", first);
    kube.heartbeat("cluster-prod-1", new Date(first.getTime() + 30_000));

    await eventually(() => expect(watching.heartbeats()).toHaveLength(2));
    const crRef = {
      apiVersion: OPS,
      kind: "Cluster",
      namespace: "",
      name: "cluster-prod-1",
      uid: beat.metadata.uid,
      generation: 1,
    };
    expect(watching.heartbeats()).toEqual([
      {
        type: "ClusterHeartbeat",
        lastHeartbeat: "2026-12-02T10:00:00Z",
        clusterResource: crRef,
        event: {
          kind: "ClusterHeartbeat",
          resourceRef: { apiVersion: OPS, kind: "Cluster", namespace: "", name: CLUSTER_ID },
          timestamp: "2026-12-02T10:00:00Z",
        },
      },
      expect.objectContaining({ lastHeartbeat: "2026-12-02T10:00:30Z" }),
    ]);
    await eventually(() =>
      expect(watching.transitions().map((event) => event.eventKey)).toEqual(
        expect.arrayContaining([
          `condition/${OPS}/Operation/org-b/backup-1/${kube.get(opRef)?.metadata.uid}/Running/True@1`,
          // Cluster-scoped: no namespace, `_` in the key, as the operator's reporter writes it.
          `condition/${OPS}/Cluster/_/cluster-prod-1/${beat.metadata.uid}/Connected/True@1`,
        ]),
      ),
    );
    // The second heartbeat moved only lastHeartbeat: Connected=True is reported once.
    expect(watching.transitions().filter((event) => event.resourceRef.kind === "Cluster")).toHaveLength(1);
  });

  it("does not see namespaces that are not allowed, and emits what the event ingestion accepts", async () => {
    kube.put(applicationInstance("org-c", "intruder"));
    kube.setCondition(instanceRef("org-c", "intruder"), {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
    });
    await watching.caughtUp("applicationinstances", "org-a");
    await watching.caughtUp("applicationinstances", "org-b");
    expect(watching.transitions().some((event) => event.resourceRef.namespace === "org-c")).toBe(false);
    expect(EventsBody.safeParse({ events: watching.changes.map((change) => change.event) }).success).toBe(
      true,
    );
    expect(watching.stream("applicationinstances", "org-a").lastError).toBeUndefined();
  });

  it("watches only the named Cluster CR when told its name, and reports each stream's health", async () => {
    kube.put(clusterResource("cluster-staging", "another-control-plane-id"));
    kube.heartbeat("cluster-staging", new Date("2026-12-02T11:00:00Z"));
    const named = startWatching(kube, kubeconfig, { clusterResourceName: "cluster-prod-1" });
    try {
      await named.connected();
      await named.caughtUp("clusters");
      expect(new Set(named.heartbeats().map((change) => change.clusterResource.name))).toEqual(
        new Set(["cluster-prod-1"]),
      );
      expect(
        kube.requests
          .findLast((request) => request.path === "/apis/ops.vworkspace.io/v1alpha1/clusters")
          ?.query.get("fieldSelector"),
      ).toBe("metadata.name=cluster-prod-1");
      const health = named.manager.health();
      expect(health.streams.map((stream) => `${stream.resource} ${stream.namespace ?? "-"}`)).toEqual([
        "applicationinstances org-a",
        "operations org-a",
        "applicationinstances org-b",
        "operations org-b",
        "clusters -",
      ]);
      for (const stream of health.streams) {
        expect(stream).toMatchObject({ connected: true, relists: 0, reconnects: 0 });
        expect(Date.parse(stream.lastEventAt ?? "")).not.toBeNaN();
      }
    } finally {
      await named.close();
    }
    // The manager watching all Cluster CRs saw the other one too.
    await eventually(() =>
      expect(watching.heartbeats().map((change) => change.clusterResource.name)).toContain("cluster-staging"),
    );
  });

  it("forgets a deleted instance: one created again under its name reports its conditions anew", async () => {
    kube.put(applicationInstance("org-b", "wiki"));
    kube.setCondition(instanceRef("org-b", "wiki"), { type: "Ready", status: "True", reason: "Reconciled" });
    await eventually(() =>
      expect(watching.transitions().filter((event) => event.resourceRef.name === "wiki")).toHaveLength(1),
    );
    kube.remove(instanceRef("org-b", "wiki"));
    kube.put(applicationInstance("org-b", "wiki"));
    const again = kube.setCondition(instanceRef("org-b", "wiki"), {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
    });
    await eventually(() =>
      expect(watching.transitions().filter((event) => event.resourceRef.name === "wiki")).toHaveLength(2),
    );
    expect(
      watching.transitions().filter((event) => event.resourceRef.name === "wiki")[1]?.resourceRef.uid,
    ).toBe(again.metadata.uid);
  });
});
