import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  ack,
  adminKey,
  eventually,
  poll,
  postResult,
  rawJob,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// Secrets never reach the logs or the audit trail, however they arrive: a webhook secret in a
// percent-encoded query parameter, a token quoted in an agent's error text.
const WEBHOOK_SECRET = "webhook-secret-redaction-test";
const logs = createLogCapture();
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    captureLogs: logs,
    configOverrides: { ODOO_WEBHOOK_SECRET: WEBHOOK_SECRET, LOG_LEVEL: "info" },
  });
  worker = createTestWorker({ env });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

describe("redaction", () => {
  it("keeps a webhook secret out of the log however its parameter name is encoded", async () => {
    for (const query of [`secr%65t=${WEBHOOK_SECRET}`, `%73ecret=${WEBHOOK_SECRET}&x=1`]) {
      const response = await harness.app.inject({
        method: "POST",
        url: `/api/v1/odoo/webhook?${query}`,
        headers: { "content-type": "application/json" },
        payload: { _id: 7 },
      });
      // The server reads the decoded name: the secret was accepted (the bridge is off here).
      expect(response.statusCode, response.body).toBe(409);
    }
    expect(logs.text()).toContain("webhook");
    expect(logs.text()).not.toContain(WEBHOOK_SECRET);
  });

  it("keeps a token quoted in an agent's error text out of the job and its audit row", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const { jobId } = await rawJob(harness, key, cluster.id, "leaky-error");
    await eventually(
      async () => (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state === "ready",
    );
    expect((await poll(harness, cluster.id, credential)).map((job) => job.id)).toEqual([jobId]);
    expect((await ack(harness, jobId, credential)).statusCode).toBe(204);
    const leaked = `vwksp-agt-${"c".repeat(64)}`;
    const result = await postResult(harness, jobId, credential, {
      outcome: "failed",
      error: `helm: registry refused credential ${leaked} (401)`,
      timestamp: new Date().toISOString(),
    });
    expect(result.statusCode, result.body).toBe(204);

    const job = await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } });
    const finished = await harness.deps.db.auditEntry.findFirstOrThrow({
      where: { kind: "JobFinished", data: { path: ["jobId"], equals: jobId } },
    });
    expect(job.error).toBe("helm: registry refused credential vwksp-agt-[REDACTED] (401)");
    expect(finished.data).toMatchObject({
      error: "helm: registry refused credential vwksp-agt-[REDACTED] (401)",
    });
    expect(JSON.stringify(finished.data)).not.toContain(leaked);
  });
});
