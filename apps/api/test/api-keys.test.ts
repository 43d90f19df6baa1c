import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";

const BOOTSTRAP = "vwksp-key-bootstrap-for-tests-0123456789";
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env });
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

describe("admin API keys", () => {
  it("refuses a missing key with 401", async () => {
    const response = await harness.app.inject({ url: "/api/v1/me" });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: "unauthorized" });
    // The hint is documentation, not a secret: the redactor leaves it readable.
    expect(response.json().message).toBe("missing API key (Authorization: Bearer vwksp-key-…)");
  });

  it("refuses a wrong key with 401", async () => {
    const response = await harness.app.inject({
      url: "/api/v1/me",
      headers: { authorization: "Bearer vwksp-key-not-a-real-key-000000000000" },
    });
    expect(response.statusCode).toBe(401);
  });

  it("creates the bootstrap key idempotently and accepts it", async () => {
    const first = await harness.deps.apiKeys.ensureBootstrapKey(BOOTSTRAP);
    const second = await harness.deps.apiKeys.ensureBootstrapKey(BOOTSTRAP);
    expect(second.id).toBe(first.id);
    expect(await harness.deps.db.apiKey.count()).toBe(1);
    const stored = await harness.deps.db.apiKey.findFirstOrThrow();
    expect(stored.keyHash).not.toContain("bootstrap");
    expect(stored.keyHash).toMatch(/^[0-9a-f]{64}$/);

    const response = await harness.app.inject({
      url: "/api/v1/me",
      headers: { authorization: `Bearer ${BOOTSTRAP}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ keyId: first.id, scopes: ["*"] });
  });

  it("enforces scopes with 403", async () => {
    const org = await harness.deps.db.organization.findFirstOrThrow();
    const { key } = await harness.deps.apiKeys.create({
      organizationId: org.id,
      name: "audit",
      scopes: ["audit:read"],
    });
    expect(key).toMatch(/^vwksp-key-[0-9a-f]{48}$/);
    const response = await harness.app.inject({
      url: "/api/v1/me",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: "insufficient_scope" });
  });

  it("serves the OpenAPI document and Swagger UI", async () => {
    const json = await harness.app.inject({ url: "/docs/json" });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ openapi: "3.1.0" });
    const ui = await harness.app.inject({ url: "/docs/" });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain("swagger");
  });
});
