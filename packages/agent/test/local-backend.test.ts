import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Condition, ObjectRef } from "@vwksp/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { createLocalBackend } from "../src/backends/local.ts";
import { createFileStore, processedKeysPath } from "../src/credentials/file-store.ts";
import { executeJob } from "../src/runtime/execute.ts";
import { agentJob, applicationInstance, CLUSTER_ID, configMap } from "./support/jobs.ts";
import { manualTiming } from "./support/manual-timing.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "vwksp-local-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function backend() {
  const clock = manualTiming();
  let uid = 0;
  const local = createLocalBackend({
    stateDir: dir,
    timing: clock.timing,
    readyAfterMs: 1_000,
    newUid: () => `uid-${++uid}`,
  });
  const transitions: { ref: ObjectRef; previous: Condition[]; next: Condition[] }[] = [];
  local.watch?.((ref, previous, next) => transitions.push({ ref, previous, next }));
  return { local, clock, transitions };
}

const read = async (...path: string[]) => JSON.parse(await readFile(join(dir, ...path), "utf8"));

describe("local backend", () => {
  it("stores objects as <namespace>/<Kind>/<name>.json, keeping uid and bumping generation on spec changes", async () => {
    const { local } = backend();
    const first = await executeJob(agentJob("apply", configMap("org-a", "settings")), local, CLUSTER_ID);
    expect(first).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      namespace: "org-a",
      name: "settings",
      uid: "uid-1",
      generation: 1,
    });
    const stored = await read("org-a", "ConfigMap", "settings.json");
    expect(stored).toMatchObject({
      metadata: {
        uid: "uid-1",
        generation: 1,
        labels: {
          "app.vworkspace.io/managed-by": "control-plane",
          "app.vworkspace.io/cluster-id": CLUSTER_ID,
        },
      },
      data: { a: "b" },
    });
    const same = await executeJob(agentJob("apply", configMap("org-a", "settings")), local, CLUSTER_ID);
    expect(same).toMatchObject({ uid: "uid-1", generation: 1 });
    const changed = await executeJob(
      agentJob("apply", configMap("org-a", "settings", { a: "c" })),
      local,
      CLUSTER_ID,
    );
    expect(changed).toMatchObject({ uid: "uid-1", generation: 2 });

    const cluster = { apiVersion: "v1", kind: "Namespace", metadata: { name: "org-z" } };
    expect(await executeJob(agentJob("apply", cluster), local, CLUSTER_ID)).toMatchObject({
      namespace: "",
      name: "org-z",
    });
    expect(await read("_", "Namespace", "org-z.json")).toMatchObject({ metadata: { name: "org-z" } });
  });

  it("reconciles an ApplicationInstance: Reconciling, then Ready=True (HelmReleaseReady) a moment later", async () => {
    const { local, clock, transitions } = backend();
    const job = agentJob("intent", {
      intent: "ensure-application-instance",
      applicationInstance: applicationInstance("org-a", "vault"),
    });
    const ref = await executeJob(job, local, CLUSTER_ID);
    await eventually(async () => transitions.length === 1 && clock.pendingSleeps().length === 1);
    expect(transitions.map((t) => t.next.map((c) => `${c.type}=${c.status}`))).toEqual([
      ["Reconciling=True", "Ready=Unknown"],
    ]);
    await clock.advance(999);
    expect(transitions).toHaveLength(1);
    await clock.advance(1);
    // The Ready write is file I/O: wait for it in real time.
    await eventually(async () => transitions.length === 2);
    expect(transitions[1]?.ref).toEqual(ref);
    expect(transitions[1]?.previous.map((c) => c.reason)).toEqual(["Progressing", "Reconciling"]);
    expect(transitions[1]?.next).toEqual([
      expect.objectContaining({
        type: "Reconciling",
        status: "False",
        reason: "HelmReleaseReady",
        observedGeneration: 1,
      }),
      expect.objectContaining({
        type: "Ready",
        status: "True",
        reason: "HelmReleaseReady",
        observedGeneration: 1,
      }),
    ]);
    const stored = await read("org-a", "ApplicationInstance", "vault.json");
    expect(stored.status).toMatchObject({
      observedGeneration: 1,
      conditions: [{ type: "Reconciling" }, { type: "Ready", status: "True" }],
    });

    // Unchanged spec: nothing to reconcile.
    await executeJob(job, local, CLUSTER_ID);
    await clock.advance(5_000);
    expect(transitions).toHaveLength(2);
  });

  it("never marks a superseded generation Ready, and forgets a deleted instance", async () => {
    const { local, clock, transitions } = backend();
    const ensure = (catalogId: string) =>
      agentJob("intent", {
        intent: "ensure-application-instance",
        applicationInstance: applicationInstance("org-a", "app", catalogId),
      });
    await executeJob(ensure("gitea"), local, CLUSTER_ID);
    await eventually(async () => clock.pendingSleeps().length === 1);
    await clock.advance(500);
    await executeJob(ensure("n8n"), local, CLUSTER_ID);
    await eventually(async () => clock.pendingSleeps().length === 2);
    await clock.advance(600);
    expect(transitions.filter((t) => t.next.some((c) => c.type === "Ready" && c.status === "True"))).toEqual(
      [],
    );
    await clock.advance(400);
    const ready = () =>
      transitions.filter((t) => t.next.some((c) => c.type === "Ready" && c.status === "True"));
    await eventually(async () => ready().length > 0);
    expect(ready().map((t) => t.ref.generation)).toEqual([2]);

    const removed = await executeJob(
      agentJob("intent", { intent: "delete-application-instance", name: "app", namespace: "org-a" }),
      local,
      CLUSTER_ID,
    );
    expect(removed).toMatchObject({ kind: "ApplicationInstance", uid: "uid-1", generation: 2 });
    await expect(stat(join(dir, "org-a", "ApplicationInstance", "app.json"))).rejects.toThrow();
    expect(
      await local.remove({ apiVersion: "v1", kind: "ConfigMap", namespace: "org-a", name: "none" }),
    ).toBe(false);
  });

  it("refuses names that would escape the state directory", async () => {
    const { local } = backend();
    await expect(executeJob(agentJob("apply", configMap("..", "passwd")), local, CLUSTER_ID)).rejects.toThrow(
      /invalid object reference/,
    );
    await expect(
      executeJob(
        agentJob("apply", { apiVersion: "v1", kind: "../x", metadata: { name: "a" } }),
        local,
        CLUSTER_ID,
      ),
    ).rejects.toThrow(/invalid object reference/);
  });

  it("explains payloads it cannot act on", async () => {
    const { local } = backend();
    await expect(executeJob(agentJob("apply", { kind: "ConfigMap" }), local, CLUSTER_ID)).rejects.toThrow(
      /apply payload/,
    );
    await expect(
      executeJob(agentJob("intent", { intent: "reboot-cluster" }), local, CLUSTER_ID),
    ).rejects.toThrow('unsupported intent "reboot-cluster"');
    await expect(
      executeJob(
        agentJob("intent", {
          intent: "ensure-application-instance",
          applicationInstance: configMap("a", "b"),
        }),
        local,
        CLUSTER_ID,
      ),
    ).rejects.toThrow("needs a ApplicationInstance");
  });
});

describe("credential file", () => {
  const credentials = {
    baseUrl: "https://cp.example",
    clusterId: CLUSTER_ID,
    token: `vwksp-agt-${"a".repeat(64)}`,
  };

  it("is written with mode 0600, atomically, and read back", async () => {
    const path = join(dir, "nested", "credentials.json");
    const store = createFileStore(path);
    await store.save(credentials);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await store.load()).toEqual(credentials);
    await store.save({ ...credentials, token: `vwksp-agt-${"b".repeat(64)}` });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("warns when others can read it, and refuses what is not a credential", async () => {
    const path = join(dir, "credentials.json");
    const warnings: string[] = [];
    const store = createFileStore(path, (message) => warnings.push(message));
    await store.save(credentials);
    await chmod(path, 0o644);
    await store.load();
    expect(warnings).toEqual([`${path} is readable by others (mode 644); expected 600`]);
    await writeFile(path, JSON.stringify({ token: "x" }));
    await expect(store.load()).rejects.toThrow("is not a vwksp-agent credential file");
  });

  it("keeps processed keys next to it, per cluster, bounded", async () => {
    const path = join(dir, "credentials.json");
    const store = createFileStore(path);
    const keys = store.idempotency(CLUSTER_ID);
    await keys.record("a@1");
    await keys.record("a@1");
    expect(await read("credentials.processed-keys.json")).toEqual({ clusterId: CLUSTER_ID, keys: ["a@1"] });
    expect(processedKeysPath(path)).toBe(join(dir, "credentials.processed-keys.json"));
    expect((await stat(processedKeysPath(path))).mode & 0o777).toBe(0o600);
    expect(await store.idempotency(CLUSTER_ID).has("a@1")).toBe(true);
    // A new registration in the same place starts with a clean history.
    expect(await store.idempotency("another-cluster").has("a@1")).toBe(false);
  });
});
