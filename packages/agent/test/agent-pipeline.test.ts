import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { main } from "../src/cli.ts";
import { sleep } from "../src/clock.ts";
import { type ControlPlane, captureOutput, startControlPlane } from "./support/control-plane.ts";
import { recordingFetch, runAgent } from "./support/run-agent.ts";

let cp: ControlPlane;
let dir: string;

beforeAll(async () => {
  cp = await startControlPlane();
  dir = await mkdtemp(join(tmpdir(), "vwksp-pipeline-"));
});

afterAll(async () => {
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A registered cluster with its credential file and state directory. */
async function registered(name: string, body: Record<string, unknown> = {}) {
  const { cluster, token } = await cp.newCluster(body);
  const file = join(dir, name, "credentials.json");
  const stdout = captureOutput();
  const stderr = captureOutput();
  const args = ["register", "--control-plane-endpoint", cp.url, "--token", token, "--credentials-file", file];
  expect(await main(args, { stdout, stderr, env: {} }), stderr.text()).toBe(0);
  const stateDir = join(dir, name, "state");
  const runArgs = ["--credentials-file", file, "--backend", "local", "--state-dir", stateDir, "--wait", "5"];
  return {
    cluster,
    file,
    stateDir,
    runArgs: [...runArgs, "--heartbeat-interval", "1s", "--local-ready-after", "200ms"],
  };
}

const configMapJob = (name: string, data: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  kind: "apply",
  payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data },
  ...extra,
});

describe("poll → ack → apply → result against the real API and worker", () => {
  it("deploys vaultwarden: the job succeeds, the local backend writes the object, Ready=True is reported", async () => {
    const started = Date.now();
    const { cluster, stateDir, runArgs } = await registered("deploy");
    const agent = runAgent(runArgs);
    const deploy = await cp.admin("POST", `/api/v1/clusters/${cluster.id}/applications`, {
      catalogId: "vaultwarden",
      namespace: "org-demo",
      name: "vault",
      hostname: "vault.demo.example",
    });
    expect(deploy.status).toBe(202);
    const requested = Date.now();

    const job = await cp.jobDone(deploy.body.jobId);
    const succeededAt = Date.now();
    const path = join(stateDir, "org-demo", "ApplicationInstance", "vault.json");
    const stored = JSON.parse(await readFile(path, "utf8"));
    expect(job).toMatchObject({
      state: "succeeded",
      outcome: "succeeded",
      appliedRef: {
        apiVersion: "apps.vworkspace.io/v1alpha1",
        kind: "ApplicationInstance",
        namespace: "org-demo",
        name: "vault",
        uid: stored.metadata.uid,
        generation: 1,
      },
    });
    expect(stored).toMatchObject({
      apiVersion: "apps.vworkspace.io/v1alpha1",
      kind: "ApplicationInstance",
      metadata: {
        name: "vault",
        namespace: "org-demo",
        generation: 1,
        labels: {
          "app.vworkspace.io/managed-by": "control-plane",
          "app.vworkspace.io/cluster-id": cluster.id,
        },
      },
      spec: {
        appRef: { catalogId: "vaultwarden" },
        integrations: { ingress: { host: "vault.demo.example" } },
      },
    });

    const readyKey = `condition/apps.vworkspace.io/v1alpha1/ApplicationInstance/org-demo/vault/${stored.metadata.uid}/Ready/True@1`;
    const events = await eventually(async () => {
      const all = await cp.events(cluster.id);
      return all.some((event) => event.eventKey === readyKey) ? all : undefined;
    }, 10_000);
    const readyAt = Date.now();
    const app = events.filter((event) => event.resourceRef.kind === "ApplicationInstance");
    expect(app.map((event) => `${event.conditions[0]?.type}=${event.conditions[0]?.status}`)).toEqual([
      "Reconciling=True",
      "Ready=Unknown",
      "Reconciling=False",
      "Ready=True",
    ]);
    expect(app.at(-1)).toMatchObject({
      kind: "ConditionTransition",
      eventKey: readyKey,
      conditions: [{ type: "Ready", status: "True", reason: "HelmReleaseReady", observedGeneration: 1 }],
    });
    const connected = events.find((event) => event.conditions[0]?.type === "Connected");
    expect(connected).toMatchObject({
      kind: "ConditionTransition",
      resourceRef: {
        apiVersion: "ops.vworkspace.io/v1alpha1",
        kind: "Cluster",
        namespace: "vworkspace-system",
        name: "cluster-local",
      },
      conditions: [{ status: "True", reason: "RoundTripOK" }],
    });
    expect(connected?.eventKey).toBe(
      `condition/ops.vworkspace.io/v1alpha1/Cluster/vworkspace-system/cluster-local/${connected?.resourceRef.uid}/Connected/True@1`,
    );
    const application = await cp.harness.deps.db.application.findFirstOrThrow({
      where: { clusterId: cluster.id },
    });
    expect(application.state).toBe("deployed");

    // Heartbeats carry the versions (the server coalesces them into the cluster record).
    const view = await eventually(async () => {
      const response = await cp.admin("GET", `/api/v1/clusters/${cluster.id}`);
      return response.body.operatorVersion ? response.body : undefined;
    });
    expect(view).toMatchObject({
      operatorVersion: "vwksp-agent/0.1.0",
      kubernetesVersion: "local",
      status: "connected",
    });
    expect(view.lastHeartbeatAt).not.toBeNull();

    expect(await agent.stop()).toBe(0);
    expect(agent.stdout.text()).toContain("agent stopped (stopped)");
    console.info(
      `register→Ready ${readyAt - started} ms; deploy request→job succeeded ${succeededAt - requested} ms, →Ready stored ${readyAt - requested} ms (ready-after 200 ms, flush each 1 s)`,
    );
  });

  it("answers a job past expiresAt with noop/expired and does not apply it", async () => {
    const { cluster, stateDir, runArgs } = await registered("expired");
    // The agent's clock runs an hour ahead: every job it sees has expired.
    const timing = { clock: { now: () => new Date(Date.now() + 3_600_000) }, sleep, random: Math.random };
    const agent = runAgent(runArgs, { timing });
    const { jobId } = await cp.rawJob(
      cluster.id,
      configMapJob("late", { a: "b" }, { expiresInSeconds: 600 }),
    );
    expect(await cp.jobDone(jobId)).toMatchObject({ state: "noop", outcome: "noop", error: "expired" });
    await expect(readFile(join(stateDir, "default", "ConfigMap", "late.json"))).rejects.toThrow();
    expect(await agent.stop()).toBe(0);
  });

  it("answers a replayed idempotency key with noop and keeps the first apply", async () => {
    const { cluster, file, stateDir, runArgs } = await registered("replay");
    const agent = runAgent(runArgs);
    const key = "configmap/default/replayed@1";
    const first = await cp.rawJob(cluster.id, configMapJob("replayed", { v: "1" }, { idempotencyKey: key }));
    expect(await cp.jobDone(first.jobId)).toMatchObject({ outcome: "succeeded" });
    const second = await cp.resend(first.jobId, configMapJob("replayed", { v: "2" }).payload);
    expect(await cp.jobDone(second.jobId)).toMatchObject({ outcome: "noop", error: null });
    const stored = JSON.parse(
      await readFile(join(stateDir, "default", "ConfigMap", "replayed.json"), "utf8"),
    );
    expect(stored.data).toEqual({ v: "1" });
    expect(await agent.stop()).toBe(0);

    // The processed keys survive a restart: they are persisted next to the credential.
    const keys = JSON.parse(await readFile(file.replace(/\.json$/, ".processed-keys.json"), "utf8"));
    expect(keys).toEqual({ clusterId: cluster.id, keys: [key] });
    const again = runAgent(runArgs);
    const third = await cp.resend(first.jobId, configMapJob("replayed", { v: "3" }).payload);
    expect(await cp.jobDone(third.jobId)).toMatchObject({ outcome: "noop" });
    expect(await again.stop()).toBe(0);
  });

  it("verifies signatures with the key from registration: a good one applies, a bad one fails", async () => {
    const { cluster, file, runArgs } = await registered("signed", { signPayloads: true });
    let agent = runAgent([...runArgs, "--require-signatures"]);
    const good = await cp.rawJob(cluster.id, configMapJob("signed", { a: "b" }));
    expect(await cp.jobDone(good.jobId)).toMatchObject({ outcome: "succeeded" });
    expect(await agent.stop()).toBe(0);

    // Another cluster's key stands in for a forged signature.
    const other = await cp.newCluster();
    const credentials = JSON.parse(await readFile(file, "utf8"));
    await writeFile(
      file,
      JSON.stringify({ ...credentials, signingPublicKey: other.cluster.signingPublicKey }),
      {
        mode: 0o600,
      },
    );
    agent = runAgent(runArgs);
    const bad = await cp.rawJob(cluster.id, configMapJob("forged", { a: "b" }));
    expect(await cp.jobDone(bad.jobId)).toMatchObject({
      state: "failed",
      error: "signature verification failed: the payload does not match its signature",
    });
    expect(await agent.stop()).toBe(0);
  });

  it("posts exactly one result: a 409 after a lost answer counts as done", async () => {
    const { cluster, runArgs } = await registered("lost-answer");
    let lost = false;
    const recorder = recordingFetch(async (call, forward) => {
      if (call.path.endsWith("/result") && !lost) {
        lost = true;
        await forward();
        throw new TypeError("fetch failed", { cause: { code: "ECONNRESET" } });
      }
      return forward();
    });
    const agent = runAgent(runArgs, { fetch: recorder.fetch });
    const { jobId } = await cp.rawJob(cluster.id, configMapJob("lost", { a: "b" }));
    expect(await cp.jobDone(jobId)).toMatchObject({ outcome: "succeeded" });
    await eventually(async () => agent.stdout.text().includes(`job ${jobId}: result was already recorded`));
    await sleep(300);
    expect(recorder.calls.filter((call) => call.path === `/api/agent/jobs/${jobId}/result`)).toHaveLength(2);
    expect(recorder.calls.filter((call) => call.path === `/api/agent/jobs/${jobId}/ack`)).toHaveLength(1);
    expect(agent.stdout.text()).toContain("ECONNRESET");
    expect(await agent.stop()).toBe(0);
  });
});
