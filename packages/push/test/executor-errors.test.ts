import type { KubeFake } from "@vwksp/kube-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterClient, createClusterClient } from "../src/client/cluster-client.ts";
import { createPushExecutor, type PushExecutor } from "../src/execute/executor.ts";
import { PushRetryableError } from "../src/execute/outcome.ts";
import type { PushKubeconfig } from "../src/kubeconfig/types.ts";
import { provisionPushCredential, startCluster } from "./support/cluster.ts";
import { applicationInstance, CLUSTER_ID, ensureJob, instanceRef } from "./support/jobs.ts";

let kube: KubeFake;
let kubeconfig: PushKubeconfig;
let token: string;
let client: ClusterClient;
let executor: PushExecutor;

beforeAll(async () => {
  kube = await startCluster();
  ({ kubeconfig, token } = await provisionPushCredential(kube));
  client = createClusterClient(kubeconfig, { requestTimeoutMs: 1_000 });
  executor = createPushExecutor({ client, clusterId: CLUSTER_ID });
});
afterAll(async () => {
  client?.close();
  await kube?.close();
});

const APPLY_PATH = "/apis/apps.vworkspace.io/v1alpha1/namespaces/org-a/applicationinstances/vault";
const ensureVault = () => executor.execute(ensureJob(applicationInstance("org-a", "vault")));

async function retryable(work: Promise<unknown>): Promise<PushRetryableError> {
  const error = await work.then(
    () => new Error("expected a retryable error"),
    (failure: unknown) => failure,
  );
  if (!(error instanceof PushRetryableError)) throw error;
  expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(token);
  return error;
}

describe("error classification", () => {
  it("throws retryable errors for 5xx and 429, with the server's Retry-After", async () => {
    kube.fail({
      method: "PATCH",
      path: APPLY_PATH,
      times: 1,
      respond: { code: 503, message: "etcd is unavailable" },
    });
    expect(await retryable(ensureVault())).toMatchObject({
      reason: "ServerError",
      statusCode: 503,
      message: "the API server answered 503: etcd is unavailable",
    });
    kube.fail({ method: "PATCH", path: APPLY_PATH, times: 1, respond: { code: 500 } });
    expect(await retryable(ensureVault())).toMatchObject({ reason: "ServerError", statusCode: 500 });
    kube.fail({
      method: "PATCH",
      path: APPLY_PATH,
      times: 1,
      respond: { code: 429, message: "too many requests, please try again later", retryAfterSeconds: 2 },
    });
    expect(await retryable(ensureVault())).toMatchObject({
      reason: "TooManyRequests",
      statusCode: 429,
      retryAfterMs: 2_000,
    });
    // The retry that follows goes through.
    await expect(ensureVault()).resolves.toMatchObject({ outcome: "succeeded" });
  });

  it("throws retryable errors for a reset connection, a timeout and a stopped API server", async () => {
    kube.fail({ method: "PATCH", path: APPLY_PATH, times: 1, reset: true });
    expect(await retryable(ensureVault())).toMatchObject({ reason: "ConnectionReset" });

    const removeHang = kube.fail({ method: "PATCH", path: APPLY_PATH, hang: true });
    const started = Date.now();
    expect(await retryable(ensureVault())).toMatchObject({ reason: "Timeout" });
    expect(Date.now() - started).toBeLessThan(4_000);
    removeHang();

    await kube.stop();
    try {
      expect(await retryable(ensureVault())).toMatchObject({ reason: "Unreachable" });
    } finally {
      await kube.restart();
    }
    await expect(ensureVault()).resolves.toMatchObject({ outcome: "succeeded" });
  });

  it("throws a retryable Unauthorized for a revoked token: the cluster's trouble, not the job's", async () => {
    const revoked = structuredClone(kubeconfig);
    revoked.users[0].user.token = `${token}-revoked`;
    const stale = createClusterClient(revoked, { requestTimeoutMs: 1_000 });
    try {
      const job = createPushExecutor({ client: stale, clusterId: CLUSTER_ID }).execute(
        ensureJob(applicationInstance("org-a", "vault")),
      );
      expect(await retryable(job)).toMatchObject({
        reason: "Unauthorized",
        statusCode: 401,
        message: "the API server refused the cluster's credentials (401 Unauthorized)",
      });
    } finally {
      stale.close();
    }
  });

  it("fails the job with the API server's message for 400, 403 and 422", async () => {
    for (const [code, message] of [
      [400, "the object provided is unrecognized"],
      [403, 'admission webhook "vworkspace.io" denied the request: NamespaceNotGated'],
      [422, 'ApplicationInstance.apps.vworkspace.io "vault" is invalid: spec.chart.version: Required value'],
    ] as const) {
      kube.fail({ method: "PATCH", path: APPLY_PATH, times: 1, respond: { code, message } });
      await expect(ensureVault()).resolves.toMatchObject({ outcome: "failed", error: message });
    }
  });

  it("answers a 409 from the server as conflict", async () => {
    const message =
      'Operation cannot be fulfilled on applicationinstances.apps.vworkspace.io "vault": the object has been modified; please apply your changes to the latest version and try again';
    kube.fail({
      method: "PATCH",
      path: APPLY_PATH,
      times: 1,
      respond: { code: 409, reason: "Conflict", message },
    });
    await expect(ensureVault()).resolves.toMatchObject({ outcome: "conflict", error: message });
  });

  it("closing the client makes an in-flight job retryable, not failed", async () => {
    const closing = createClusterClient(kubeconfig, { requestTimeoutMs: 10_000 });
    const removeHang = kube.fail({ method: "PATCH", path: APPLY_PATH, hang: true });
    try {
      const job = createPushExecutor({ client: closing, clusterId: CLUSTER_ID }).execute(
        ensureJob(applicationInstance("org-a", "vault")),
      );
      setTimeout(() => closing.close(), 200);
      expect(await retryable(job)).toMatchObject({ reason: "Closed" });
    } finally {
      removeHang();
    }
    await expect(ensureVault()).resolves.toMatchObject({
      appliedRef: { ...instanceRef("org-a", "vault"), generation: 1 },
    });
  });
});
