import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster } from "../../../test/support/fixtures.ts";

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

describe("cluster registry", () => {
  it("creates a pending cluster with the documented defaults", async () => {
    const cluster = await createCluster(harness, key, { displayName: "Prod EU (Frankfurt)" });
    expect(cluster).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      slug: "prod-eu-frankfurt",
      displayName: "Prod EU (Frankfurt)",
      connectivityMode: "pull",
      allowedNamespaces: ["org-*", "default"],
      allowedCatalogEntries: ["*"],
      allowedOperationTemplates: [
        "backup.velero",
        "restore.velero",
        "upgrade.helm",
        "migration.helmHookJob",
        "runCommand.job",
        "runbook.workflow",
      ],
      status: "pending",
      lastHeartbeatAt: null,
      operatorVersion: null,
      fluxVersion: null,
      veleroVersion: null,
      signingPublicKey: expect.stringContaining("BEGIN PUBLIC KEY"),
    });
    const audit = await harness.deps.db.auditEntry.findMany({ where: { clusterId: cluster.id } });
    expect(audit.map((entry) => entry.kind)).toEqual(["ClusterCreated"]);
    expect(audit[0]?.source).toBe("user");
  });

  it("derives a unique slug and refuses a taken explicit slug with 409", async () => {
    const a = await createCluster(harness, key, { displayName: "Edge" });
    const b = await createCluster(harness, key, { displayName: "Edge" });
    expect(a.slug).toBe("edge");
    expect(b.slug).toBe("edge-2");
    const taken = await harness.app.inject({
      method: "POST",
      url: "/api/v1/clusters",
      headers: adminHeaders(key),
      payload: { displayName: "Other", slug: "edge" },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ error: "slug_taken" });
  });

  it.each([
    [{ displayName: "" }, "displayName"],
    [{ displayName: "x", slug: "Not_A_Label" }, "slug"],
    [{ displayName: "x", connectivityMode: "carrier-pigeon" }, "connectivityMode"],
    [{ displayName: "x", allowedNamespaces: ["bad ns"] }, "allowedNamespaces"],
    [{ displayName: "x".repeat(201) }, "displayName"],
  ])("refuses %j with 400", async (payload, field) => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/clusters",
      headers: adminHeaders(key),
      payload,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toContain(field);
  });

  it("lists with filters and cursor pagination", async () => {
    for (let i = 0; i < 3; i += 1) await createCluster(harness, key, { displayName: `Paged ${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/clusters?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const response = await harness.app.inject({ url, headers: adminHeaders(key) });
      expect(response.statusCode).toBe(200);
      const page = response.json() as { items: { slug: string }[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.slug));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(["paged-0", "paged-1", "paged-2", "edge", "edge-2"]));

    // A cursor this service did not make is 400 invalid_cursor, whatever was changed in it.
    const first = await harness.app.inject({ url: "/api/v1/clusters?limit=1", headers: adminHeaders(key) });
    const made = first.json().nextCursor as string;
    const [iso, id] = Buffer.from(made, "base64url").toString("utf8").split("|") as [string, string];
    const tampered = [
      `${made}x`,
      Buffer.from(`${iso}|${id.slice(0, -1)}g`).toString("base64url"),
      Buffer.from(`${iso}|${id}|more`).toString("base64url"),
      Buffer.from(`not-a-time|${id}`).toString("base64url"),
      Buffer.from(`${iso}|x\u0000`).toString("base64url"),
    ];
    for (const cursor of tampered) {
      const response = await harness.app.inject({
        url: `/api/v1/clusters?limit=1&cursor=${encodeURIComponent(cursor)}`,
        headers: adminHeaders(key),
      });
      expect(response.statusCode, cursor).toBe(400);
      expect(response.json().error, cursor).toBe("invalid_cursor");
    }

    const bySlug = await harness.app.inject({
      url: "/api/v1/clusters?slug=paged-1",
      headers: adminHeaders(key),
    });
    expect(bySlug.json().items.map((item: { slug: string }) => item.slug)).toEqual(["paged-1"]);
    const bad = await harness.app.inject({ url: "/api/v1/clusters?cursor=%%%", headers: adminHeaders(key) });
    expect(bad.statusCode).toBe(400);
  });

  it("updates settings and records what changed", async () => {
    const cluster = await createCluster(harness, key, { displayName: "Patchable" });
    const response = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(key),
      payload: { allowedNamespaces: ["team-*"], displayName: "Patched" },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      allowedNamespaces: ["team-*"],
      displayName: "Patched",
      slug: "patchable",
    });
    const entry = await harness.deps.db.auditEntry.findFirst({
      where: { clusterId: cluster.id, kind: "ClusterUpdated" },
    });
    expect(entry?.data).toMatchObject({ changed: { allowedNamespaces: ["team-*"], displayName: "Patched" } });
  });

  it("hides other organizations' clusters behind 404 and validates ids", async () => {
    const cluster = await createCluster(harness, key, { displayName: "Mine" });
    const other = await harness.deps.db.organization.create({ data: { slug: "other", name: "Other" } });
    const { key: otherKey } = await harness.deps.apiKeys.create({
      organizationId: other.id,
      name: "o",
      scopes: ["*"],
    });
    const response = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(otherKey),
    });
    expect(response.statusCode).toBe(404);
    const patch = await harness.app.inject({
      method: "PATCH",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(otherKey),
      payload: { displayName: "stolen" },
    });
    expect(patch.statusCode).toBe(404);
    const list = await harness.app.inject({ url: "/api/v1/clusters", headers: adminHeaders(otherKey) });
    expect(list.json().items).toEqual([]);
    const badId = await harness.app.inject({
      url: "/api/v1/clusters/not-a-uuid",
      headers: adminHeaders(key),
    });
    expect(badId.statusCode).toBe(400);
  });
});
