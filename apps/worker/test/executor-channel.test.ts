import type { AgentJob, JobResultBody } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobExecutor, RetryLater } from "../../../packages/core/src/index.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, poll, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

/**
 * An executor as push and GitOps modes plug in: it records what it was given, in order, and
 * answers what the test told it to for each job name (the ConfigMap's metadata.name).
 */
function recordingExecutor() {
  const performed: string[] = [];
  const plan = new Map<string, ((job: AgentJob) => JobResultBody | Promise<JobResultBody>)[]>();
  const nameOf = (job: AgentJob) => (job.payload as { metadata: { name: string } }).metadata.name;
  const executor: JobExecutor = {
    async execute(job) {
      const name = nameOf(job);
      performed.push(name);
      const next = plan.get(name)?.shift();
      return next ? next(job) : { outcome: "succeeded" };
    },
  };
  return {
    executor,
    performed,
    /** The next times a job of this name runs, these answer (then: succeeded). */
    when(name: string, ...answers: ((job: AgentJob) => JobResultBody | Promise<JobResultBody>)[]) {
      plan.set(name, answers);
    },
  };
}

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;
const gitops = recordingExecutor();

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  worker = createTestWorker({ env, executors: { gitops: gitops.executor } });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

const jobState = async (jobId: string) =>
  (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state;
const sweep = () => worker.processors.maintenance?.["drain-executor-clusters"]?.({}, undefined as never);

describe("the executors' delivery channel", () => {
  it("performs a GitOps cluster's jobs in the worker, in request order, and never hands them to a poll", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { connectivityMode: "gitops" });
    const ids: string[] = [];
    for (const name of ["first", "second", "third"])
      ids.push((await rawJob(harness, key, cluster.id, name)).jobId);
    // The operator of a GitOps cluster may still poll: it gets nothing.
    expect(await poll(harness, cluster.id, credential, 0)).toEqual([]);
    // No backstop sweep here: a job made ready while its cluster's drain was finishing gets the
    // next drain from the drain gate (drain-gate.test.ts makes that race deterministic).
    await eventually(
      async () => (await Promise.all(ids.map(jobState))).every((state) => state === "succeeded"),
      4_000,
    );
    expect(gitops.performed.filter((name) => ["first", "second", "third"].includes(name))).toEqual([
      "first",
      "second",
      "third",
    ]);
    const audit = await harness.deps.db.auditEntry.findMany({
      where: { clusterId: cluster.id, kind: { in: ["JobDelivered", "JobAcked", "JobFinished"] } },
    });
    expect(audit).toHaveLength(9);
  });

  it("retries a passing failure after a backoff, holding later jobs back meanwhile", async () => {
    const { cluster } = await registeredCluster(harness, key, { connectivityMode: "gitops" });
    gitops.when("flaky", () => {
      throw new RetryLater("the Git remote answered 503", 500);
    });
    const flaky = (await rawJob(harness, key, cluster.id, "flaky")).jobId;
    const after = (await rawJob(harness, key, cluster.id, "after-flaky")).jobId;
    await eventually(async () => {
      const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: flaky } });
      return job.state === "acked" && (job.error ?? "").includes("retrying: the Git remote answered 503");
    });
    // The line is held: the later job waits for the first.
    expect(await jobState(after)).toBe("ready");
    // The backstop sweep finds the job again once its backoff (2 s here) has run out.
    await eventually(async () => {
      await sweep();
      return (await jobState(flaky)) === "succeeded" && (await jobState(after)) === "succeeded";
    }, 20_000);
    const performed = gitops.performed.filter((name) => name === "flaky" || name === "after-flaky");
    expect(performed).toEqual(["flaky", "flaky", "after-flaky"]);
    expect((await harness.deps.db.job.findUniqueOrThrow({ where: { id: flaky } })).deliveries).toBe(2);
  });

  it("fails a job the executor cannot perform, with its reason, and goes on", async () => {
    const { cluster } = await registeredCluster(harness, key, { connectivityMode: "gitops" });
    gitops.when("refused", () => {
      throw new Error("the API server refused the object: 422 Unprocessable Entity");
    });
    const refused = (await rawJob(harness, key, cluster.id, "refused")).jobId;
    const next = (await rawJob(harness, key, cluster.id, "after-refused")).jobId;
    await eventually(async () => {
      await sweep();
      return (await jobState(next)) === "succeeded";
    }, 15_000);
    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: refused } });
    expect(job.state).toBe("failed");
    expect(job.error).toContain("422 Unprocessable Entity");
  });

  it("switching modes: unclaimed jobs go to the new mode's channel, a job a poll holds stays with it", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const held = (await rawJob(harness, key, cluster.id, "held-by-poll")).jobId;
    await eventually(async () => (await jobState(held)) === "ready");
    const [delivered] = await poll(harness, cluster.id, credential, 0);
    expect(delivered?.id).toBe(held);
    const waiting = (await rawJob(harness, key, cluster.id, "waiting-at-switch")).jobId;
    await eventually(async () => (await jobState(waiting)) === "ready");

    const switched = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(key),
      payload: { connectivityMode: "gitops" },
    });
    expect(switched.statusCode, switched.body).toBe(200);
    // The poll's job is in flight: it holds the line until the agent's result.
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobState(waiting)).toBe("ready");
    expect(gitops.performed).not.toContain("held-by-poll");
    const result = await harness.app.inject({
      method: "POST",
      url: `/api/agent/jobs/${held}/result`,
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
      payload: { outcome: "succeeded" },
    });
    expect(result.statusCode, result.body).toBe(204);
    await eventually(async () => {
      await sweep();
      return (await jobState(waiting)) === "succeeded";
    });
    expect(gitops.performed).toContain("waiting-at-switch");
    expect(gitops.performed).not.toContain("held-by-poll");
  });

  it("leaves the jobs of a mode no executor serves ready, for a worker that has one", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { connectivityMode: "push" });
    const jobId = (await rawJob(harness, key, cluster.id, "push-without-executor")).jobId;
    await eventually(async () => (await jobState(jobId)) === "ready");
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await jobState(jobId)).toBe("ready");
    expect(await poll(harness, cluster.id, credential, 0)).toEqual([]);
  });
});
