import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { main } from "../src/cli.ts";
import { type ControlPlane, captureOutput, startControlPlane } from "./support/control-plane.ts";
import { type FakeKube, startFakeKube } from "./support/fake-kube.ts";
import { runAgent } from "./support/run-agent.ts";

let cp: ControlPlane;
let kube: FakeKube;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  cp = await startControlPlane();
  kube = await startFakeKube({ gitVersion: "v1.31.4" });
  dir = await mkdtemp(join(tmpdir(), "vwksp-k8s-"));
  kubeconfig = await kube.writeKubeconfig(dir);
});

afterAll(async () => {
  await cp?.close();
  await kube?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the agent in a (fake) Kubernetes cluster, credential in a Secret", () => {
  it("applies jobs with server-side apply, reports conflicts and the cluster version", async () => {
    const { cluster, token } = await cp.newCluster();
    const secret = [
      "--credentials-secret",
      "vworkspace-system/vworkspace-agent-credentials",
      "--kubeconfig",
      kubeconfig,
    ];
    const stdout = captureOutput();
    const stderr = captureOutput();
    const registered = await main(
      ["register", "--control-plane-endpoint", cp.url, "--token", token, ...secret],
      { stdout, stderr, env: {} },
    );
    expect(registered, stderr.text()).toBe(0);
    const agent = runAgent([
      ...secret,
      "--backend",
      "kubernetes",
      "--wait",
      "5",
      "--heartbeat-interval",
      "1s",
    ]);

    const deploy = await cp.admin("POST", `/api/v1/clusters/${cluster.id}/applications`, {
      catalogId: "vaultwarden",
      namespace: "org-demo",
      name: "vault",
    });
    expect(deploy.status).toBe(202);
    const job = await cp.jobDone(deploy.body.jobId);
    const stored = kube.object("apps.vworkspace.io/v1alpha1", "applicationinstances", "org-demo", "vault");
    expect(job).toMatchObject({
      outcome: "succeeded",
      appliedRef: {
        kind: "ApplicationInstance",
        namespace: "org-demo",
        uid: stored?.metadata.uid,
        generation: 1,
      },
    });
    expect(kube.object("v1", "namespaces", undefined, "org-demo")).toBeDefined();
    expect(stored?.metadata.labels).toMatchObject({ "app.vworkspace.io/cluster-id": cluster.id });

    kube.failNext(
      "PATCH",
      /configmaps\/contested$/,
      409,
      "Conflict",
      'Apply failed with 1 conflict: conflict with "helm"',
    );
    const contested = await cp.rawJob(cluster.id, {
      kind: "apply",
      payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "contested", namespace: "default" } },
    });
    expect(await cp.jobDone(contested.jobId)).toMatchObject({
      state: "conflict",
      error: 'apply ConfigMap default/contested: Apply failed with 1 conflict: conflict with "helm"',
    });

    const view = await eventually(async () => {
      const response = await cp.admin("GET", `/api/v1/clusters/${cluster.id}`);
      return response.body.kubernetesVersion ? response.body : undefined;
    });
    expect(view.kubernetesVersion).toBe("v1.31.4");
    const processed = kube.object("v1", "configmaps", "vworkspace-system", "vworkspace-applied-jobs");
    expect(
      JSON.parse(((processed?.data ?? {}) as Record<string, string>)["applied-keys.json"] ?? "[]"),
    ).toEqual(["applicationinstance/org-demo/vault@1"]);
    expect(await agent.stop()).toBe(0);
  });
});
