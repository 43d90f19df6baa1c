import { randomBytes } from "node:crypto";
import { isSealed, manualClock, plainSigningKeys, verifyPayloadSignature } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, poll, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

const secret = { SECRET_KEY: randomBytes(32).toString("hex") };
let env: TestEnv;
const clock = manualClock(new Date());
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker> | undefined;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, clock, configOverrides: secret });
  worker = createTestWorker({ env, clock, configOverrides: secret });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

const storedKey = async (clusterId: string) =>
  (await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: clusterId } })).signingPrivateKey ?? "";

const jobOf = (jobId: string) => harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });

async function signedJobVerifies(cluster: { id: string; signingPublicKey: string }, credential: string) {
  const { jobId } = await rawJob(harness, key, cluster.id, `signed-${randomBytes(3).toString("hex")}`);
  await eventually(async () => (await jobOf(jobId)).state === "ready");
  const [job] = await poll(harness, cluster.id, credential);
  return verifyPayloadSignature(cluster.signingPublicKey, job?.payload, job?.signature ?? "");
}

describe("signing private keys with SECRET_KEY", () => {
  it("are stored sealed, and jobs are signed with them", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { signPayloads: true });
    const stored = await storedKey(cluster.id);
    expect(isSealed(stored)).toBe(true);
    expect(stored).not.toContain("PRIVATE KEY");
    expect(await signedJobVerifies(cluster, credential)).toBe(true);
  });

  it("stored plain before the secret was set are sealed by the worker's start-up step and keep working", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { signPayloads: true });
    const plain = plainSigningKeys.newKeyPair();
    await harness.deps.db.cluster.update({ where: { id: cluster.id }, data: plain });
    expect(await signedJobVerifies({ ...cluster, ...plain }, credential)).toBe(true);

    expect(await harness.deps.clusters.sealSigningKeys()).toBeGreaterThanOrEqual(1);
    expect(isSealed(await storedKey(cluster.id))).toBe(true);
    expect(await harness.deps.clusters.sealSigningKeys()).toBe(0);
    expect(await signedJobVerifies({ ...cluster, ...plain }, credential)).toBe(true);
  });

  it("are not sealed further by a worker with another secret", async () => {
    const { cluster } = await registeredCluster(harness, key, { signPayloads: true });
    const plain = plainSigningKeys.newKeyPair();
    await harness.deps.db.cluster.update({ where: { id: cluster.id }, data: plain });
    const wrong = await createTestApp({
      env,
      clock,
      configOverrides: { SECRET_KEY: randomBytes(32).toString("hex") },
    });
    try {
      await expect(wrong.deps.clusters.sealSigningKeys()).rejects.toThrow(/sealed under another SECRET_KEY/);
      expect(await storedKey(cluster.id)).toBe(plain.signingPrivateKey);
    } finally {
      await wrong.close();
    }
  });

  it("move to a new secret: reseal under it while the former one is SECRET_KEY_PREVIOUS", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { signPayloads: true });
    const before = await storedKey(cluster.id);
    const next = { SECRET_KEY: randomBytes(32).toString("hex") };
    const rotating = await createTestApp({
      env,
      clock,
      configOverrides: { ...next, SECRET_KEY_PREVIOUS: secret.SECRET_KEY },
    });
    try {
      expect(await rotating.deps.clusters.sealSigningKeys()).toBeGreaterThanOrEqual(1);
      expect(await rotating.deps.clusters.sealSigningKeys()).toBe(0);
    } finally {
      await rotating.close();
    }
    const after = await storedKey(cluster.id);
    expect(after).not.toBe(before);
    expect(after.split(":")[2]).not.toBe(before.split(":")[2]);

    // From now on a worker with only the new secret signs with the same key pair.
    await worker?.close();
    worker = createTestWorker({ env, clock, configOverrides: next });
    try {
      expect(await signedJobVerifies(cluster, credential)).toBe(true);
    } finally {
      await worker.close();
      worker = createTestWorker({ env, clock, configOverrides: secret });
    }
  });

  it("that the worker cannot open keep the job queued with the reason, until a worker with the secret takes it", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { signPayloads: true });
    await worker?.close();
    worker = createTestWorker({ env, clock });
    const { jobId } = await rawJob(harness, key, cluster.id, "waits-for-secret");
    const waiting = await eventually(async () => {
      const job = await jobOf(jobId);
      return job.error ? job : undefined;
    });
    expect(waiting.state).toBe("queued");
    expect(waiting.error).toMatch(/^waiting: cannot sign: .*set SECRET_KEY/);

    await worker.close();
    worker = createTestWorker({ env, clock, configOverrides: secret });
    // BullMQ's retry (with backoff) or, once it gave up, the reconciler brings the job back.
    clock.advance(11_000);
    await eventually(async () => {
      await worker?.processors.maintenance?.["reconcile-queued"]?.({}, undefined as never);
      return (await jobOf(jobId)).state === "ready";
    }, 20_000);
    const ready = await jobOf(jobId);
    expect(ready.error).toBeNull();
    const [job] = await poll(harness, cluster.id, credential);
    expect(verifyPayloadSignature(cluster.signingPublicKey, job?.payload, job?.signature ?? "")).toBe(true);
  });
});
