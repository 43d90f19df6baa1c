import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  postEvents as postAgentEvents,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import {
  applicationInstance,
  clusterProd1,
  goCondition,
  goConnectedTransitions,
  goCredentialRotated,
  goHeartbeat,
  goTransition,
} from "../../../test/support/operator-events.ts";

// The operator's whole event traffic, replayed with the exact shapes of its Go client and its
// Cluster reconciler: events about the Cluster CR `cluster-prod-1` in `vworkspace-system` are the
// credential's cluster, whatever the CR is called.

let env: TestEnv;
const clock = manualClock(new Date("2026-12-01T10:00:00Z"));
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const postEvents = (credential: string, events: unknown[]) => postAgentEvents(harness, credential, events);

const admin = async (url: string) => {
  const response = await harness.app.inject({ url, headers: adminHeaders(key) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};

const T0 = "2026-12-01T10:00:00Z";
const ts = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
/** Go's RFC 3339 with nanoseconds, as Event.Timestamp goes out. */
const goTs = (seconds: number) => ts(seconds).replace(/\.(\d{3})Z$/, ".$1456789Z");

describe("events about the operator's Cluster CR", () => {
  it("are the credential's cluster's health, shown with the CR's name and namespace", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const cr = clusterProd1();
    const response = await postEvents(credential, goConnectedTransitions(cr, T0, goTs(0)));
    expect(response.statusCode, response.body).toBe(204);

    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.clusterResource).toEqual({
      apiVersion: "ops.vworkspace.io/v1alpha1",
      namespace: "vworkspace-system",
      name: "cluster-prod-1",
      uid: cr.uid,
      generation: 1,
    });
    expect(health.conditions).toEqual([
      {
        type: "Connected",
        status: "True",
        reason: "RoundTripOK",
        message: "Recent round-trip to the control plane succeeded",
        lastTransitionTime: T0,
      },
      expect.objectContaining({ type: "Disconnected", status: "False", reason: "Connected" }),
      expect.objectContaining({ type: "Authenticated", status: "True", reason: "CredentialAccepted" }),
      expect.objectContaining({ type: "BufferOverflow", status: "False", reason: "BufferDrained" }),
    ]);
    expect(health.healthMessage).toBeNull();

    const view = await admin(`/api/v1/clusters/${cluster.id}`);
    expect(view).toMatchObject({
      clusterResource: { name: "cluster-prod-1", namespace: "vworkspace-system" },
      healthMessage: null,
    });
    expect(view.conditions).toEqual(health.conditions);
    const list = await admin("/api/v1/clusters?limit=500");
    expect(list.items.find((item: { id: string }) => item.id === cluster.id)).toMatchObject({
      clusterResource: { name: "cluster-prod-1" },
    });
  });

  it("never refuses a mixed batch for what one event is about, and projects every part of it", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const cr = clusterProd1("uid-mixed");
    const app = applicationInstance("vaultwarden", "uid-vw", 1);
    const batch = [
      ...goConnectedTransitions(cr, T0, goTs(0)),
      goTransition(app, goCondition("Ready", "True", "HelmReleaseReady", "Release reconciled", T0), goTs(0)),
      // A Cluster CR event naming another cluster id in spec terms, and a kind nobody knows.
      goTransition(
        { ...cr, name: "some-other-name" },
        goCondition("ControllersHealthy", "True", "AllPresent", "", T0),
        goTs(0),
      ),
      { ...goTransition(app, goCondition("Odd", "True", "X", "", T0), goTs(0)), kind: "SomethingNew" },
      // A ConditionTransition that carries nothing to project.
      { ...goTransition(app, goCondition("Empty", "True", "X", "", T0), goTs(0)), conditions: [] },
    ];
    const response = await postEvents(credential, batch);
    expect(response.statusCode, response.body).toBe(204);
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(batch.length);

    const resources = await admin(`/api/v1/clusters/${cluster.id}/resources`);
    expect(resources.items).toEqual([
      expect.objectContaining({ kind: "ApplicationInstance", name: "vaultwarden", ready: true }),
    ]);
    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.conditions.map((condition: { type: string }) => condition.type)).toEqual([
      "Connected",
      "Disconnected",
      "Authenticated",
      "BufferOverflow",
      "ControllersHealthy",
    ]);
    expect(harness.deps.events.skippedCounts()).toEqual(
      new Map([
        ["unprojected_kind", 1],
        ["no_conditions", 1],
      ]),
    );
  });

  it("shows ControllerMissing with its message as the health message, until it clears", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const cr = clusterProd1("uid-missing");
    await postEvents(credential, goConnectedTransitions(cr, T0, goTs(0)));
    const missing = goCondition(
      "ControllerMissing",
      "True",
      "VeleroNotInstalled",
      "velero is not installed in namespace velero; install it with `helm install velero vmware-tanzu/velero -n velero`",
      ts(60),
    );
    const degraded = goCondition(
      "ControllerDegraded",
      "True",
      "CertManagerNotReady",
      "cert-manager 0/1 ready",
      ts(30),
    );
    expect((await postEvents(credential, [goTransition(cr, degraded, goTs(30))])).statusCode).toBe(204);
    expect((await postEvents(credential, [goTransition(cr, missing, goTs(60))])).statusCode).toBe(204);

    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.conditions).toContainEqual({
      type: "ControllerMissing",
      status: "True",
      reason: "VeleroNotInstalled",
      message: missing.message,
      lastTransitionTime: ts(60),
    });
    // An error (a missing controller) is worse than a warning (a degraded one).
    expect(health.healthMessage).toBe(
      `ControllerMissing=True (VeleroNotInstalled): ${missing.message} [since ${ts(60)}] (+1 more problem)`,
    );
    expect((await admin(`/api/v1/clusters/${cluster.id}`)).healthMessage).toBe(health.healthMessage);

    const installed = goCondition(
      "ControllerMissing",
      "False",
      "AllPresent",
      "every controller is installed",
      ts(120),
    );
    await postEvents(credential, [goTransition(cr, installed, goTs(120))]);
    expect((await admin(`/api/v1/clusters/${cluster.id}/health`)).healthMessage).toBe(
      `ControllerDegraded=True (CertManagerNotReady): cert-manager 0/1 ready [since ${ts(30)}]`,
    );
  });

  it("audits CredentialRotated about the CR (zero lastTransitionTime and all)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const cr = clusterProd1("uid-rotated");
    const response = await postEvents(credential, [goCredentialRotated(cr, goTs(5))]);
    expect(response.statusCode, response.body).toBe(204);
    const audit = await admin(`/api/v1/audit?clusterId=${cluster.id}&kind=CredentialRotated`);
    expect(audit.items).toEqual([
      expect.objectContaining({
        source: "agent",
        data: expect.objectContaining({
          eventKey: "CredentialRotated/uid-rotated/Authenticated",
          resourceRef: expect.objectContaining({ name: "cluster-prod-1", namespace: "vworkspace-system" }),
        }),
      }),
    ]);
    // It names the CR; it is not a condition the CR's status holds.
    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.clusterResource).toMatchObject({ name: "cluster-prod-1", uid: "uid-rotated" });
    expect(health.conditions).toEqual([]);
  });

  it("takes Connected=True again after an outage under the same eventKey; a replay stays a no-op", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const cr = clusterProd1("uid-flap");
    const up = (seconds: number) => [
      goTransition(cr, goCondition("Connected", "True", "RoundTripOK", "ok", ts(seconds)), goTs(seconds)),
      goTransition(
        cr,
        goCondition("Disconnected", "False", "Connected", "alive", ts(seconds)),
        goTs(seconds),
      ),
    ];
    const down = [
      goTransition(
        cr,
        goCondition("Connected", "False", "ControlPlaneUnreachable", "dial tcp: timeout", ts(60)),
        goTs(60),
      ),
      goTransition(
        cr,
        goCondition("Disconnected", "True", "NoRecentRoundTrip", "dial tcp: timeout", ts(60)),
        goTs(60),
      ),
    ];
    await postEvents(credential, up(0));
    await postEvents(credential, down);
    // The operator's batcher re-sends the outage transitions with the recovery: one batch.
    expect((await postEvents(credential, [...down, ...up(120)])).statusCode).toBe(204);

    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.conditions).toEqual([
      expect.objectContaining({ type: "Connected", status: "True", lastTransitionTime: ts(120) }),
      expect.objectContaining({ type: "Disconnected", status: "False", lastTransitionTime: ts(120) }),
    ]);
    const audited = async () =>
      (
        await harness.deps.db.auditEntry.findMany({
          where: { clusterId: cluster.id, kind: { in: ["Connected", "Disconnected"] } },
          orderBy: { id: "asc" },
        })
      ).map((entry) => entry.kind);
    expect(await audited()).toEqual(["Connected", "Disconnected", "Connected"]);
    await postEvents(credential, up(120));
    expect(await audited()).toEqual(["Connected", "Disconnected", "Connected"]);
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(4);
  });

  it("replaces the conditions of a deleted CR by those of the one created again (new uid)", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const old = clusterProd1("uid-old", 3);
    await postEvents(credential, [
      goTransition(
        old,
        goCondition("ControllerMissing", "True", "VeleroNotInstalled", "no velero", ts(0)),
        goTs(0),
      ),
    ]);
    const recreated = { ...clusterProd1("uid-new", 1), name: "cluster-prod-1b" };
    await postEvents(credential, goConnectedTransitions(recreated, ts(30), goTs(30)));
    // A late event of the deleted CR changes nothing.
    await postEvents(credential, [
      goTransition(
        old,
        goCondition("BufferOverflow", "True", "EventBufferFull", "dropped 3", ts(10)),
        goTs(10),
      ),
    ]);
    const health = await admin(`/api/v1/clusters/${cluster.id}/health`);
    expect(health.clusterResource).toMatchObject({ name: "cluster-prod-1b", uid: "uid-new", generation: 1 });
    expect(health.conditions.map((condition: { type: string }) => condition.type)).toEqual([
      "Connected",
      "Disconnected",
      "Authenticated",
      "BufferOverflow",
    ]);
    expect(health.healthMessage).toBeNull();
  });

  it("counts the Go client's heartbeat, or one naming the CR, for the credential's cluster", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const other = await registeredCluster(harness, key);
    const response = await postEvents(credential, [
      goHeartbeat(cluster.id, goTs(0)),
      { ...goHeartbeat(other.cluster.id, goTs(1)) },
      { ...goHeartbeat("cluster-prod-1", goTs(2)), resourceRef: clusterProd1() },
    ]);
    expect(response.statusCode, response.body).toBe(204);
    await harness.deps.heartbeats.flush();
    const [mine, theirs] = await Promise.all(
      [cluster.id, other.cluster.id].map((id) =>
        harness.deps.db.cluster.findUniqueOrThrow({ where: { id } }),
      ),
    );
    expect(mine?.lastHeartbeatAt?.toISOString()).toBe(clock.now().toISOString());
    expect(theirs?.lastHeartbeatAt).toBeNull();
  });

  it("stores an event whose generation PostgreSQL cannot project and skips only that one", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const before = harness.deps.events.skippedCounts().get("generation_out_of_range") ?? 0;
    const huge = applicationInstance("huge", "uid-huge", 2 ** 40);
    const fine = applicationInstance("fine", "uid-fine", 2);
    const response = await postEvents(credential, [
      goTransition(huge, goCondition("Ready", "True", "Ok", "", T0), goTs(0)),
      goTransition(fine, goCondition("Ready", "True", "Ok", "", T0), goTs(0)),
    ]);
    expect(response.statusCode, response.body).toBe(204);
    expect(await harness.deps.db.agentEvent.count({ where: { clusterId: cluster.id } })).toBe(2);
    const resources = await admin(`/api/v1/clusters/${cluster.id}/resources`);
    expect(resources.items.map((item: { name: string }) => item.name)).toEqual(["fine"]);
    expect(harness.deps.events.skippedCounts().get("generation_out_of_range")).toBe(before + 1);
  });
});
