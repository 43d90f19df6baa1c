import { type KubernetesObject, makeInformer } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { applicationInstance, clientsFor, instanceRef, vaultSpec } from "./support/clients.ts";
import { eventually } from "./support/eventually.ts";

let fake: KubeFake;
const PATH = "/apis/apps.vworkspace.io/v1alpha1/namespaces/org-a/applicationinstances";

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a"] });
});
afterAll(() => fake?.close());

/** A client-node informer (list + watch) that restarts after errors, as its docs ask callers to. */
function startInformer() {
  const { config, objects } = clientsFor(fake);
  const informer = makeInformer(config, PATH, () =>
    objects.list("apps.vworkspace.io/v1alpha1", "ApplicationInstance", "org-a"),
  );
  const log: string[] = [];
  const record = (what: string) => (object: KubernetesObject) => log.push(`${what} ${object.metadata?.name}`);
  informer.on("add", record("add"));
  informer.on("update", record("update"));
  informer.on("delete", record("delete"));
  let errors = 0;
  let stopped = false;
  informer.on("error", () => {
    errors += 1;
    // Aborting the watch on stop() is reported as an error too; only a running informer retries.
    // A restart planned before stop() must not open a watch after it.
    if (!stopped)
      setTimeout(() => {
        if (!stopped) void informer.start();
      }, 50);
  });
  const stop = async () => {
    stopped = true;
    // client-node cannot abort a watch it is still opening: let one open first, then stop.
    await vi.waitFor(() => expect(fake.watchCount()).toBeGreaterThan(0), { timeout: 2_000 }).catch(() => {});
    await informer.stop();
    // One that was opening all the same outlives stop(): end it from the server's side (a
    // stopped informer does not reconnect), so the next test starts with no watch open.
    await vi
      .waitFor(() => expect(fake.watchCount()).toBe(0), { timeout: 2_000 })
      .catch(() => fake.dropWatches());
    await eventually(() => expect(fake.watchCount()).toBe(0));
  };
  // A test that fails half-way must not leave its watch open for the next one.
  onTestFinished(async () => {
    if (!stopped) await stop();
  });
  return { informer, log, errors: () => errors, stop };
}

const watchRequests = () =>
  fake.requests.filter((request) => request.path === PATH && request.query.get("watch"));
const listRequests = () =>
  fake.requests.filter((request) => request.path === PATH && !request.query.get("watch"));

describe("a client-node informer against the stand-in", () => {
  it("lists, then watches from the list's resourceVersion", async () => {
    const created = fake.apply(
      applicationInstance("org-a", "vault", vaultSpec()),
      "vworkspace-control-plane",
    );
    const { informer, log, stop } = startInformer();
    await informer.start();
    await eventually(() => expect(fake.watchCount()).toBe(1));
    fake.setCondition(instanceRef("org-a", "vault"), { type: "Ready", status: "True", reason: "Reconciled" });
    await eventually(() => expect(log).toEqual(["add vault", "update vault"]));
    expect(watchRequests().at(-1)?.query.get("resourceVersion")).toBe(created.metadata.resourceVersion);
    expect(listRequests()).toHaveLength(1);
    await stop();
  });

  it("resumes from its last resourceVersion when the server ends the watch, without a relist", async () => {
    const { informer, log, stop } = startInformer();
    await informer.start();
    await eventually(() => expect(fake.watchCount()).toBe(1));
    const lists = listRequests().length;
    fake.dropWatches();
    fake.apply(applicationInstance("org-a", "second", vaultSpec()), "vworkspace-control-plane");
    await eventually(() => expect(log).toEqual(["add vault", "add second"]));
    expect(listRequests()).toHaveLength(lists);
    await stop();
  });

  it("comes back after its watch connection is cut, as after a network failure", async () => {
    const { informer, log, stop } = startInformer();
    await informer.start();
    await eventually(() => expect(fake.watchCount()).toBe(1));
    fake.dropWatches("cut");
    fake.setCondition(instanceRef("org-a", "second"), {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
    });
    await eventually(() => expect(log).toEqual(["add second", "add vault", "update second"]));
    await stop();
  });

  it("relists after 410 Gone when its resourceVersion was compacted away", async () => {
    const { informer, log, stop } = startInformer();
    await informer.start();
    await eventually(() => expect(fake.watchCount()).toBe(1));
    const lists = listRequests().length;
    fake.dropWatches();
    fake.remove(instanceRef("org-a", "second"));
    fake.compact();
    // The watch from the old resourceVersion gets ERROR 410; the informer lists again and sees the
    // delete. (Its first list came in name order: second before vault.)
    await eventually(() => expect(log).toEqual(["add second", "add vault", "delete second"]));
    expect(listRequests()).toHaveLength(lists + 1);
    await stop();
  });

  it("reconnects after the API server was unreachable, and catches up on what changed meanwhile", async () => {
    const { informer, log, errors, stop } = startInformer();
    await informer.start();
    await eventually(() => expect(fake.watchCount()).toBe(1));
    await fake.stop();
    await eventually(() => expect(errors()).toBeGreaterThan(0));
    // The operator keeps working in the cluster while we cannot reach it.
    fake.setCondition(instanceRef("org-a", "vault"), {
      type: "Ready",
      status: "False",
      reason: "UpgradeFailed",
    });
    await fake.restart();
    await eventually(() => expect(log).toEqual(["add vault", "update vault"]));
    expect(informer.get("vault", "org-a")).toMatchObject({
      status: { conditions: [expect.objectContaining({ type: "Ready", status: "False" })] },
    });
    await stop();
  });
});
