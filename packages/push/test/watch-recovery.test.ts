import type { KubeFake } from "@vwksp/kube-fake";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { PushKubeconfig } from "../src/kubeconfig/types.ts";
import { eventually, provisionPushCredential, startCluster } from "./support/cluster.ts";
import { applicationInstance, instanceRef } from "./support/jobs.ts";
import { startWatching } from "./support/watching.ts";

let kube: KubeFake;
let kubeconfig: PushKubeconfig;
let watching: ReturnType<typeof startWatching>;

beforeAll(async () => {
  kube = await startCluster({ bookmarkIntervalMs: 100 });
  ({ kubeconfig } = await provisionPushCredential(kube));
});
afterAll(() => kube?.close());

let counter = 0;
/** A fresh instance per test, Ready=True, seen by the watch before the test goes on. */
async function readyInstance() {
  const ref = instanceRef("org-a", `app-${++counter}`);
  kube.put(applicationInstance(ref.namespace, ref.name));
  kube.setCondition(ref, { type: "Ready", status: "True", reason: "Reconciled" });
  await eventually(() => expect(keysOf(ref.name)).toHaveLength(1));
  return ref;
}
const keysOf = (name: string) =>
  watching
    .transitions()
    .filter((event) => event.resourceRef.name === name)
    .map((event) => event.eventKey?.split("/").slice(-2).join("/"));
const orgA = () => watching.stream("applicationinstances", "org-a");

/** The API server unreachable while `during` runs, whatever happens in it. */
async function outage(during: () => Promise<void> | void) {
  await kube.stop();
  try {
    await during();
  } finally {
    await kube.restart();
  }
}

beforeEach(async () => {
  watching = startWatching(kube, kubeconfig);
  await watching.connected();
});
afterEach(() => watching.close());

describe("watch recovery", () => {
  it("resumes from its resourceVersion when the server ends a watch, without listing again", async () => {
    const ref = await readyInstance();
    kube.dropWatches("end");
    kube.setCondition(ref, { type: "Degraded", status: "True", reason: "PodCrashLooping" });
    await eventually(() => expect(keysOf(ref.name)).toEqual(["Ready/True@1", "Degraded/True@1"]));
    expect(orgA()).toMatchObject({ relists: 0, connected: true });
    expect(orgA().reconnects).toBeGreaterThanOrEqual(1);
  });

  it("reconnects with backoff after the API server stops, and catches up with what changed meanwhile", async () => {
    const ref = await readyInstance();
    await outage(async () => {
      await eventually(() => expect(orgA().connected).toBe(false));
      // The operator keeps working while the control plane cannot reach the API server.
      kube.setCondition(ref, { type: "Ready", status: "False", reason: "Upgrading" });
      kube.setCondition(ref, { type: "Ready", status: "True", reason: "Reconciled", message: "upgraded" });
      await eventually(() => expect(orgA().lastError?.reason).toMatch(/^(Unreachable|ConnectionReset)$/));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watching.manager.health().connected).toBe(false);
    });
    await watching.connected();
    await eventually(() =>
      expect(keysOf(ref.name)).toEqual(["Ready/True@1", "Ready/False@1", "Ready/True@1"]),
    );
    expect(orgA().relists).toBe(0);
    expect(watching.errors.some(({ error }) => /closed|stopped/i.test(error.message))).toBe(false);
  });

  it("lists again on 410 Gone, reporting what changed exactly once and nothing it had reported", async () => {
    const kept = await readyInstance();
    const changed = await readyInstance();
    const deleted = await readyInstance();
    const created = instanceRef("org-a", `app-${++counter}`);
    await outage(() => {
      kube.setCondition(changed, {
        type: "Ready",
        status: "False",
        reason: "Degraded",
        message: "2 of 3 pods",
      });
      kube.remove(deleted);
      kube.put(applicationInstance(created.namespace, created.name));
      kube.setCondition(created, { type: "Ready", status: "True", reason: "Reconciled" });
      // The history the watches would resume from is gone: their next watch gets 410 Expired.
      kube.compact();
    });

    await eventually(() => expect(orgA().relists).toBe(1));
    await watching.caughtUp("applicationinstances", "org-a");
    expect(keysOf(kept.name)).toEqual(["Ready/True@1"]);
    expect(keysOf(changed.name)).toEqual(["Ready/True@1", "Ready/False@1"]);
    expect(keysOf(deleted.name)).toEqual(["Ready/True@1"]);
    expect(keysOf(created.name)).toEqual(["Ready/True@1"]);
    const keys = watching.transitions().map((event) => event.eventKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("offers a change again after the handler refused it", async () => {
    let refusals = 1;
    await watching.close();
    watching = startWatching(kube, kubeconfig, {
      onChange: (change) => {
        if (
          change.type === "ConditionTransition" &&
          change.event.resourceRef.name.startsWith("flaky") &&
          refusals-- > 0
        ) {
          throw new Error("outbox unavailable");
        }
        watching.changes.push(change);
      },
    });
    await watching.connected();
    kube.put(applicationInstance("org-a", "flaky"));
    kube.setCondition(instanceRef("org-a", "flaky"), { type: "Ready", status: "True", reason: "Reconciled" });
    await eventually(() => expect(keysOf("flaky")).toEqual(["Ready/True@1"]));
    expect(watching.errors.map(({ error }) => error.message)).toContain(
      "the change handler failed: outbox unavailable",
    );
    // Resumed before the refused change, which the watch replayed: no list needed.
    expect(orgA().relists).toBe(0);
  });

  it("backs off from a server that ends every watch at once, and still reports changes", async () => {
    const abrupt = await startCluster({ watchTimeoutSeconds: 0.01 });
    const short = startWatching(abrupt, (await provisionPushCredential(abrupt)).kubeconfig, {
      watchTimeoutSeconds: 0,
    });
    try {
      const watchesOf = () =>
        abrupt.requests.filter(
          (request) => request.path.endsWith("/org-a/applicationinstances") && request.query.get("watch"),
        ).length;
      await eventually(() => expect(watchesOf()).toBeGreaterThan(1));
      const before = watchesOf();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      // Each watch lives 10 ms: without backoff this machine makes about 30 in 1.5 s, with it 5 or 6.
      expect(watchesOf() - before).toBeLessThan(12);
      abrupt.put(applicationInstance("org-a", "steady"));
      abrupt.setCondition(instanceRef("org-a", "steady"), {
        type: "Ready",
        status: "True",
        reason: "Reconciled",
      });
      await eventually(() =>
        expect(short.transitions().map((event) => event.resourceRef.name)).toContain("steady"),
      );
    } finally {
      await short.close();
      await abrupt.close();
    }
  });

  it("stops cleanly, even while a watch is still opening on a hanging API server", async () => {
    const hang = kube.fail({ method: "GET", path: /\/namespaces\/org-b\/operations$/, hang: true });
    try {
      const cutAt = kube.requests.length;
      kube.dropWatches("cut");
      // The stream's next watch request is in flight, unanswered.
      await eventually(() =>
        expect(
          kube.requests
            .slice(cutAt)
            .some(
              (request) => request.path.endsWith("/org-b/operations") && request.query.get("watch") === "1",
            ),
        ).toBe(true),
      );
      expect(watching.stream("operations", "org-b").connected).toBe(false);
      const started = Date.now();
      await watching.manager.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(watching.manager.health().connected).toBe(false);
      // client-node's ListWatch reports its own stop as an error; a stop here is no error.
      expect(watching.errors.filter(({ error }) => /stopped|closed|aborted/i.test(error.message))).toEqual(
        [],
      );
      const errorsAtStop = watching.errors.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watching.errors).toHaveLength(errorsAtStop);
      await eventually(() => expect(kube.watchCount()).toBe(0));
    } finally {
      hang();
    }
  });
});
