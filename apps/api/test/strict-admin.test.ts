import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, registeredCluster } from "../../../test/support/fixtures.ts";
import { refuseUndeclaredAdminInput } from "../src/http/strict-admin.ts";

// The admin API refuses what it does not understand (an unknown field is a 400 naming it); the
// agent API tolerates unknown fields, as the wire contract says.

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

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; schema?: { format?: string; pattern?: string } }[];
  requestBody?: unknown;
}

/** Every admin operation of the OpenAPI document, with path parameters filled in validly. */
function adminOperations() {
  const document = harness.app.swagger() as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(document.paths)
    .filter(([path]) => path.startsWith("/api/v1/"))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => {
        let url = path;
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in !== "path") continue;
          const value =
            parameter.schema?.format === "uuid"
              ? randomUUID()
              : parameter.name === "tokenId"
                ? "0123456789abcdef"
                : "some-name";
          url = url.replace(`{${parameter.name}}`, value);
        }
        return { method: method.toUpperCase() as "GET", url, operation };
      }),
    );
}

describe("the admin API is strict", () => {
  it("refuses the typo allowedNamespace on POST /api/v1/clusters with a 400 naming it, and creates nothing", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/v1/clusters",
      headers: adminHeaders(key),
      payload: { displayName: "prod", allowedNamespace: ["team-a"] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: "invalid_request",
      message: 'body: unknown field "allowedNamespace" (did you mean "allowedNamespaces"?)',
      requestId: expect.stringMatching(/^rq-/),
    });
    expect(await harness.deps.db.cluster.count()).toBe(0);
  });

  it("names unknown fields inside nested objects and in queries", async () => {
    const catalog = await harness.app.inject({
      method: "POST",
      url: "/api/v1/catalog",
      headers: adminHeaders(key),
      payload: {
        id: "my-app",
        name: "My app",
        chart: {
          sourceType: "oci",
          url: "oci://example.org/charts",
          name: "my-app",
          version: "1.0.0",
          vesion: "2",
        },
      },
    });
    expect(catalog.statusCode).toBe(400);
    expect(catalog.json().message).toBe('body.chart: unknown field "vesion" (did you mean "version"?)');

    const list = await harness.app.inject({ url: "/api/v1/clusters?limt=5", headers: adminHeaders(key) });
    expect(list.statusCode).toBe(400);
    expect(list.json().message).toBe('querystring: unknown field "limt" (did you mean "limit"?)');
  });

  it("answers every admin operation's unknown body field and query parameter with 400 naming it", async () => {
    const operations = adminOperations();
    expect(operations.length).toBeGreaterThan(15);
    // Odoo decides what its webhook body carries; a kubeconfig is kubectl's document, checked by
    // push mode's intake (which refuses what cannot work, by reason), not by a schema of ours.
    const looseBodies = new Set(["odooWebhook", "putClusterKubeconfig"]);
    for (const { method, url, operation } of operations) {
      if (operation.operationId === "odooWebhook") continue; // its secret is checked first (401)
      const query = await harness.app.inject({
        method,
        url: `${url}?unexpectedParam=1`,
        headers: adminHeaders(key),
        ...(operation.requestBody ? { payload: {} } : {}),
      });
      expect(query.statusCode, `${method} ${url}?unexpectedParam=1 → ${query.body}`).toBe(400);
      expect(query.json().message, `${method} ${url}`).toContain('unknown field "unexpectedParam"');

      if (method === "GET" || looseBodies.has(operation.operationId ?? "")) continue;
      const body = await harness.app.inject({
        method,
        url,
        headers: adminHeaders(key),
        payload: { unexpectedField: 1 },
      });
      expect(body.statusCode, `${method} ${url} {unexpectedField} → ${body.body}`).toBe(400);
      expect(body.json().message, `${method} ${url}`).toContain('unknown field "unexpectedField"');
    }
  });

  it("still accepts what it documents: an empty JSON body where a route takes none", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const response = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
      payload: {},
    });
    expect(response.statusCode, response.body).toBe(204);
  });
});

describe("the agent API stays tolerant", () => {
  it("accepts unknown fields and parameters from a newer operator on events and polls", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const events = await harness.app.inject({
      method: "POST",
      url: "/api/agent/events",
      headers: agentHeaders(credential),
      payload: JSON.stringify({
        events: [
          {
            kind: "ClusterHeartbeat",
            resourceRef: {
              apiVersion: "ops.vworkspace.io/v1alpha1",
              kind: "Cluster",
              name: cluster.id,
              futureRefField: 1,
            },
            timestamp: new Date().toISOString(),
            operatorVersion: "9.9.9",
            someFutureField: { nested: true },
          },
        ],
        batchId: "from-a-newer-client",
      }),
    });
    expect(events.statusCode, events.body).toBe(204);
    const heard = await eventually(async () => {
      const row = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
      return row.lastHeartbeatAt;
    });
    expect(heard).toBeInstanceOf(Date);

    const poll = await harness.app.inject({
      url: `/api/agent/jobs?cluster=${cluster.id}&wait=0&futureParam=1`,
      headers: agentHeaders(credential, false),
    });
    expect(poll.statusCode, poll.body).toBe(200);
  });
});

describe("an admin route's declared schemas", () => {
  it("must say what happens to unknown fields: a plain z.object stops the app from starting", async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    refuseUndeclaredAdminInput(app);
    expect(() =>
      app.post("/api/v1/loose", { schema: { body: z.object({ name: z.string() }) } }, async () => ({})),
    ).toThrow(/POST \/api\/v1\/loose: its body schema is a plain z.object/);
    expect(() =>
      app.get("/api/v1/loose", { schema: { querystring: z.object({ q: z.string() }) } }, async () => ({})),
    ).toThrow(/its querystring schema is a plain z.object/);
    // Strict, or loose on purpose, is fine; so is any schema on the agent API.
    app.post("/api/v1/strict", { schema: { body: z.strictObject({ name: z.string() }) } }, async () => ({}));
    app.post("/api/v1/webhook", { schema: { body: z.looseObject({ id: z.number() }) } }, async () => ({}));
    app.post(
      "/api/agent/events",
      { schema: { body: z.object({ events: z.array(z.unknown()) }) } },
      async () => ({}),
    );
    await app.close();
  });
});
