import { clusterModel, DEFAULT_FAKE_API_KEY, type FakeOdoo, startFakeOdoo } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  eventually,
  postEvents as postAgentEvents,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import {
  clusterProd1,
  goCondition,
  goConnectedTransitions,
  goTransition,
} from "../../../test/support/operator-events.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

// The cluster's health reaches Odoo as one text field holding the worst current condition, when
// ODOO_FIELD_MAP names the model's field for it (a model without it would refuse every push).

const MODEL = "vws.cluster";
const base = clusterModel();
const withHealthField = {
  ...base,
  fields: { ...base.fields, x_health: { type: "text" as const, string: "Health" } },
};

let fake: FakeOdoo;
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  fake = await startFakeOdoo({ version: 17, models: [withHealthField] });
  env = await createTestEnv();
  const odooConfig = {
    ODOO_URL: fake.url,
    ODOO_DB: fake.db,
    ODOO_LOGIN: "admin",
    ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
    ODOO_SYNC_INTERVAL_SECONDS: "3600",
    ODOO_FIELD_MAP: JSON.stringify({ health_message: "x_health" }),
    // A second without a poll is a broken job channel here (production: 640 s).
    JOB_CHANNEL_STALE_SECONDS: "1",
  };
  harness = await createTestApp({ env, configOverrides: odooConfig });
  worker = createTestWorker({ env, configOverrides: odooConfig, odooBackoffBaseMs: 50 });
  key = await adminKey(harness);
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
  await fake?.close();
});

const odooRecord = (clusterId: string) => fake.records(MODEL).find((row) => row.cluster_id === clusterId);
const postEvents = (credential: string, events: unknown[]) => postAgentEvents(harness, credential, events);

describe("health_message in Odoo", () => {
  it("carries ControllerMissing from the Cluster CR, and is emptied when it clears", async () => {
    const { cluster, credential } = await registeredCluster(harness, key, { displayName: "Health" });
    await eventually(async () => odooRecord(cluster.id)?.state === "connected");
    expect(odooRecord(cluster.id)?.x_health).toBe(false);

    const cr = clusterProd1("uid-odoo");
    const missing = goCondition(
      "ControllerMissing",
      "True",
      "VeleroNotInstalled",
      "velero is not installed; install it with helm",
      "2026-12-01T10:01:00Z",
    );
    const response = await postEvents(credential, [
      ...goConnectedTransitions(cr, "2026-12-01T10:00:00Z", "2026-12-01T10:00:00.000000001Z"),
      goTransition(cr, missing, "2026-12-01T10:01:00.000000001Z"),
    ]);
    expect(response.statusCode).toBe(204);
    const flagged = await eventually(async () => {
      const value = odooRecord(cluster.id)?.x_health;
      return typeof value === "string" ? value : undefined;
    });
    expect(flagged).toBe(
      "ControllerMissing=True (VeleroNotInstalled): velero is not installed; install it with helm [since 2026-12-01T10:01:00Z]",
    );

    const fixed = goCondition("ControllerMissing", "False", "AllPresent", "", "2026-12-01T10:05:00Z");
    await postEvents(credential, [goTransition(cr, fixed, "2026-12-01T10:05:00.000000001Z")]);
    await eventually(async () => odooRecord(cluster.id)?.x_health === false);
  });

  it("carries a broken job channel once the worker judged it", async () => {
    const { cluster } = await registeredCluster(harness, key, { displayName: "Never polls" });
    await eventually(async () => odooRecord(cluster.id)?.state === "connected");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await worker.processors.maintenance?.["check-job-channels"]?.({}, undefined as never);
    const message = await eventually(async () => {
      const value = odooRecord(cluster.id)?.x_health;
      return typeof value === "string" ? value : undefined;
    });
    expect(message).toMatch(
      /^JobChannelHealthy=False \(NoRecentPoll\): heartbeats arrive but no job poll succeeded since registration/,
    );
  });
});
