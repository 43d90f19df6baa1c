import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, poll, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";

const SHARED_URL = "https://guerzon.github.io/vaultwarden";
const ATTACKER_CHART = {
  sourceType: "oci",
  url: "oci://attacker.example/charts",
  name: "vaultwarden",
  version: "6.6.6",
};
const ORG_SCOPES = ["clusters:read", "clusters:write", "jobs:read", "jobs:write", "catalog:write"];

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let platformKey: string;
let keyA: string;
let keyB: string;

/** An organization (made directly: the organizations API has its own tests) and an admin key of it. */
async function organizationKey(slug: string) {
  const organization = await harness.deps.db.organization.create({
    data: { slug, name: `Organization ${slug}` },
  });
  const { key } = await harness.deps.apiKeys.create({
    organizationId: organization.id,
    name: `${slug}-admin`,
    scopes: ORG_SCOPES,
  });
  return key;
}

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  worker = createTestWorker({ env });
  platformKey = await adminKey(harness);
  keyA = await organizationKey("org-a");
  keyB = await organizationKey("org-b");
});

afterAll(async () => {
  await worker?.close();
  await harness?.close();
  await env?.close();
});

const call = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, key: string, payload?: unknown) =>
  harness.app.inject({ method, url, headers: adminHeaders(key), ...(payload ? { payload } : {}) });

const entry = (chart: Record<string, unknown>, name = "Vaultwarden") => ({ name, chart });

/** Deploys `catalogId` on a new cluster of the key's organization; the chart the agent receives. */
async function deployedChart(key: string, catalogId: string) {
  const { cluster, credential } = await registeredCluster(harness, key);
  const response = await call("POST", `/api/v1/clusters/${cluster.id}/applications`, key, {
    catalogId,
    namespace: "org-demo",
    name: "app",
  });
  expect(response.statusCode, response.body).toBe(202);
  await eventually(
    async () =>
      (await harness.deps.db.job.findUniqueOrThrow({ where: { id: response.json().jobId } })).state ===
      "ready",
    10_000,
  );
  const [job] = await poll(harness, cluster.id, credential);
  expect(job).toBeDefined();
  const payload = job?.payload as { applicationInstance: { spec: { chart: { url: string } } } };
  return payload.applicationInstance.spec.chart;
}

describe("catalog isolation between organizations", () => {
  it("an organization's catalog:write overrides a shared entry for itself only", async () => {
    const override = await call("PUT", "/api/v1/catalog/vaultwarden", keyB, entry(ATTACKER_CHART));
    expect(override.statusCode, override.body).toBe(200);

    // Organization A's next deploy renders the shared chart, not B's; B deploys its own.
    expect((await deployedChart(keyA, "vaultwarden")).url).toBe(SHARED_URL);
    expect((await deployedChart(keyB, "vaultwarden")).url).toBe(ATTACKER_CHART.url);
    expect(override.json()).toMatchObject({ source: "organization", overridesShared: true });
    expect((await call("GET", "/api/v1/catalog/vaultwarden", keyA)).json()).toMatchObject({
      source: "shared",
      chart: { url: SHARED_URL },
    });
  });

  it("holds raw jobs to the chart of the organization's own resolution", async () => {
    const intent = {
      kind: "intent",
      payload: {
        intent: "ensure-application-instance",
        applicationInstance: {
          apiVersion: "apps.vworkspace.io/v1alpha1",
          kind: "ApplicationInstance",
          metadata: { name: "raw", namespace: "org-demo" },
          spec: {
            appRef: { catalogId: "vaultwarden" },
            chart: ATTACKER_CHART,
            release: { name: "raw", namespace: "org-demo" },
          },
        },
      },
    };
    const inA = await registeredCluster(harness, keyA);
    const refused = await call("POST", `/api/v1/clusters/${inA.cluster.id}/jobs`, keyA, intent);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: "chart_not_in_catalog" });
    const inB = await registeredCluster(harness, keyB);
    expect((await call("POST", `/api/v1/clusters/${inB.cluster.id}/jobs`, keyB, intent)).statusCode).toBe(
      202,
    );
  });

  it("keeps an organization's added entry to itself", async () => {
    const added = await call("POST", "/api/v1/catalog", keyB, {
      id: "b-internal-app",
      ...entry(
        { sourceType: "helm", url: "https://charts.b.example", name: "internal", version: "1.0.0" },
        "B app",
      ),
    });
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({
      id: "b-internal-app",
      source: "organization",
      overridesShared: false,
    });

    const listA = (await call("GET", "/api/v1/catalog", keyA)).json().items as { id: string }[];
    const listB = (await call("GET", "/api/v1/catalog", keyB)).json().items as {
      id: string;
      source: string;
    }[];
    expect(listA.map((item) => item.id)).not.toContain("b-internal-app");
    expect(listB.find((item) => item.id === "b-internal-app")).toMatchObject({ source: "organization" });
    expect(listB.filter((item) => item.id === "vaultwarden")).toEqual([
      expect.objectContaining({ source: "organization", overridesShared: true }),
    ]);
    expect((await call("GET", "/api/v1/catalog/b-internal-app", keyA)).statusCode).toBe(404);

    const { cluster } = await registeredCluster(harness, keyA);
    const deploy = await call("POST", `/api/v1/clusters/${cluster.id}/applications`, keyA, {
      catalogId: "b-internal-app",
      namespace: "org-demo",
      name: "x",
    });
    expect(deploy.statusCode).toBe(400);
    expect(deploy.json()).toMatchObject({ error: "unknown_catalog_entry" });
  });

  it("overrides a shared entry only by PUT, and removing the override brings the shared one back", async () => {
    const post = await call("POST", "/api/v1/catalog", keyA, { id: "nextcloud", ...entry(ATTACKER_CHART) });
    expect(post.statusCode).toBe(409);
    expect(post.json()).toMatchObject({ error: "catalog_entry_exists" });

    expect((await call("PUT", "/api/v1/catalog/nextcloud", keyA, entry(ATTACKER_CHART))).statusCode).toBe(
      200,
    );
    expect((await call("DELETE", "/api/v1/catalog/nextcloud", keyA)).statusCode).toBe(204);
    expect((await call("GET", "/api/v1/catalog/nextcloud", keyA)).json()).toMatchObject({ source: "shared" });
    expect((await call("DELETE", "/api/v1/catalog/nextcloud", keyA)).statusCode).toBe(404);
  });
});

describe("the shared base catalog", () => {
  it("is changed only with platform:admin, and the change reaches organizations without an override", async () => {
    const changed = {
      sourceType: "helm",
      url: "https://charts.example/mattermost",
      name: "mm",
      version: "7.0.0",
    };
    const denied = await call("PUT", "/api/v1/shared-catalog/mattermost", keyB, entry(changed, "Mattermost"));
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ error: "insufficient_scope" });
    expect(
      (await call("POST", "/api/v1/shared-catalog", keyA, { id: "x", ...entry(changed) })).statusCode,
    ).toBe(403);
    expect((await call("GET", "/api/v1/shared-catalog", keyA)).statusCode).toBe(403);

    const put = await call(
      "PUT",
      "/api/v1/shared-catalog/mattermost",
      platformKey,
      entry(changed, "Mattermost"),
    );
    expect(put.statusCode, put.body).toBe(200);
    expect((await call("GET", "/api/v1/catalog/mattermost", keyA)).json()).toMatchObject({
      source: "shared",
      chart: { url: changed.url },
    });
    const created = await call("POST", "/api/v1/shared-catalog", platformKey, {
      id: "everyone-app",
      ...entry(changed, "Everyone"),
    });
    expect(created.statusCode).toBe(201);
    expect((await call("GET", "/api/v1/catalog/everyone-app", keyB)).json()).toMatchObject({
      source: "shared",
    });
    expect(
      (await call("POST", "/api/v1/shared-catalog", platformKey, { id: "everyone-app", ...entry(changed) }))
        .statusCode,
    ).toBe(409);
    const shared = (await call("GET", "/api/v1/shared-catalog", platformKey)).json().items as {
      id: string;
    }[];
    expect(shared.map((item) => item.id)).toEqual(expect.arrayContaining(["everyone-app", "vaultwarden"]));
    // Organization B's override is not part of the shared catalog.
    expect(shared.find((item) => item.id === "vaultwarden")).toMatchObject({ chart: { url: SHARED_URL } });
  });

  it("records who changed what, and where", async () => {
    const entries = await harness.deps.db.auditEntry.findMany({
      where: { kind: { startsWith: "CatalogEntry" } },
      orderBy: { id: "asc" },
    });
    expect(entries.map((row) => (row.data as { scope: string; id: string }).scope)).toEqual(
      expect.arrayContaining(["organization", "shared"]),
    );
    expect(entries.every((row) => row.organizationId !== null)).toBe(true);
  });
});
