import { AGENT_MEDIA_TYPE } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { toEnvelope } from "../src/http/errors.ts";

// Every 4xx/5xx answers {error, message, requestId} with the matching status, never a stack trace.
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    beforeReady(app) {
      app.post(
        "/test/echo",
        { schema: { body: z.object({ name: z.string().min(1).max(10) }) } },
        async (request) => ({ got: request.body.name }),
      );
      app.get("/test/boom", async () => {
        throw new Error("secret internals: password=hunter2");
      });
    },
  });
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

function expectEnvelope(response: { json(): unknown; headers: Record<string, unknown> }, code: string) {
  const body = response.json() as Record<string, unknown>;
  expect(body).toEqual({
    error: code,
    message: expect.any(String),
    requestId: expect.stringMatching(/^rq-/),
  });
  expect(response.headers["x-request-id"]).toBe(body.requestId);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+|stack/);
  return body;
}

describe("error envelope", () => {
  it("answers an unknown route with 404", async () => {
    const response = await harness.app.inject({ method: "GET", url: "/nope?x=1" });
    expect(response.statusCode).toBe(404);
    expect(expectEnvelope(response, "not_found").message).toContain("/nope");
  });

  it("answers URLs the router cannot take apart with the envelope: 404 for a job id, 400 elsewhere", async () => {
    const long = "a".repeat(1_001);
    for (const url of [
      `/api/agent/jobs/${long}/ack`,
      "/api/agent/jobs/%ff/ack",
      "/api/agent/jobs/%ED%A0%80/result",
    ]) {
      const response = await harness.app.inject({ method: "POST", url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers["content-type"]).toContain(AGENT_MEDIA_TYPE);
      expectEnvelope(response, "not_found");
    }
    for (const url of [`/api/v1/jobs/${long}`, "/api/v1/clusters/%ff"]) {
      const response = await harness.app.inject({ url });
      expect(response.statusCode, url).toBe(400);
      expect(response.body).not.toContain(long);
      expectEnvelope(response, "invalid_request");
    }
  });

  it("answers malformed JSON with 400", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": "application/json" },
      payload: '{"name": ',
    });
    expect(response.statusCode).toBe(400);
    expectEnvelope(response, "invalid_json");
  });

  it("parses the agent media type as JSON", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": AGENT_MEDIA_TYPE },
      payload: JSON.stringify({ name: "ok", unknownField: true }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ got: "ok" });
  });

  it("answers an unsupported media type with 415", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": "text/plain" },
      payload: "name=x",
    });
    expect(response.statusCode).toBe(415);
    expectEnvelope(response, "unsupported_media_type");
  });

  it("answers a compressed body (any Content-Encoding but identity) with 415", async () => {
    for (const encoding of ["gzip", "br, gzip"]) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/test/echo",
        headers: { "content-type": "application/json", "content-encoding": encoding },
        payload: JSON.stringify({ name: "a" }),
      });
      expect(response.statusCode, encoding).toBe(415);
      expectEnvelope(response, "unsupported_media_type");
    }
    const identity = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": "application/json", "content-encoding": "identity" },
      payload: JSON.stringify({ name: "a" }),
    });
    expect(identity.statusCode).toBe(200);
  });

  it("answers a body over 1 MiB with 413", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ name: "x".repeat(1024 * 1024) }),
    });
    expect(response.statusCode).toBe(413);
    expectEnvelope(response, "payload_too_large");
  });

  it("answers a schema violation with 400 naming the field", async () => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/test/echo",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ name: "" }),
    });
    expect(response.statusCode).toBe(400);
    expect(expectEnvelope(response, "invalid_request").message).toContain("name");
  });

  it("answers a missing body with 400, not 500", async () => {
    const response = await harness.app.inject({ method: "POST", url: "/test/echo" });
    expect(response.statusCode).toBe(400);
    expectEnvelope(response, "invalid_request");
  });

  it("hides the internals of an unexpected error behind a 500", async () => {
    const response = await harness.app.inject({ method: "GET", url: "/test/boom" });
    expect(response.statusCode).toBe(500);
    const body = expectEnvelope(response, "internal");
    expect(body.message).toBe("internal server error");
    expect(response.body).not.toContain("hunter2");
  });

  it("uses the agent media type for answers under /api/agent", async () => {
    const response = await harness.app.inject({ method: "GET", url: "/api/agent/unknown" });
    expect(response.statusCode).toBe(404);
    expect(response.headers["content-type"]).toContain(AGENT_MEDIA_TYPE);
    expectEnvelope(response, "not_found");
  });
});

describe("health", () => {
  it("reports the process alive and its dependencies ready", async () => {
    expect((await harness.app.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await harness.app.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", checks: { postgres: true, redis: true } });
  });

  it("turns /readyz into 503 with Retry-After when Redis is unreachable", async () => {
    const broken = await createTestApp({ env, configOverrides: { REDIS_URL: "redis://127.0.0.1:1" } });
    try {
      const started = Date.now();
      const response = await broken.app.inject({ url: "/readyz" });
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBe("5");
      expect(expectEnvelope(response, "not_ready").message).toContain("Redis");
    } finally {
      await broken.close();
    }
  });

  it("answers 503 with Retry-After, not 500, when PostgreSQL is down during a request", async () => {
    const broken = await createTestApp({
      env,
      configOverrides: { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/none" },
    });
    try {
      const agent = await broken.app.inject({
        method: "GET",
        url: "/api/agent/jobs?cluster=x&wait=0",
        headers: { authorization: `Bearer vwksp-agt-${"a".repeat(64)}` },
      });
      expect(agent.statusCode).toBe(503);
      expect(agent.headers["retry-after"]).toBe("5");
      expectEnvelope(agent, "unavailable");
      const admin = await broken.app.inject({
        url: "/api/v1/clusters",
        headers: { authorization: "Bearer vwksp-key-some-key-that-is-long-enough" },
      });
      expect(admin.statusCode).toBe(503);
    } finally {
      await broken.close();
    }
  });

  it("answers 503 with Retry-After, not 500, when its database does not exist or refuses its role", async () => {
    const server = new URL(env.db.url);
    const missingDatabase = new URL(server);
    missingDatabase.pathname = "/vwksp_no_such_database";
    const unknownRole = new URL(server);
    unknownRole.username = "vwksp_no_such_role";
    for (const url of [missingDatabase, unknownRole]) {
      const broken = await createTestApp({ env, configOverrides: { DATABASE_URL: url.toString() } });
      try {
        const agent = await broken.app.inject({
          method: "GET",
          url: "/api/agent/jobs?cluster=x&wait=0",
          headers: { authorization: `Bearer vwksp-agt-${"a".repeat(64)}` },
        });
        expect(agent.statusCode, url.toString()).toBe(503);
        expect(agent.headers["retry-after"]).toBe("5");
        expectEnvelope(agent, "unavailable");
        const admin = await broken.app.inject({
          url: "/api/v1/clusters",
          headers: { authorization: "Bearer vwksp-key-some-key-that-is-long-enough" },
        });
        expect(admin.statusCode, url.toString()).toBe(503);
      } finally {
        await broken.close();
      }
    }
  });

  it("turns /readyz into 503 when PostgreSQL is unreachable", async () => {
    const broken = await createTestApp({
      env,
      configOverrides: { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/none" },
    });
    try {
      const response = await broken.app.inject({ url: "/readyz" });
      expect(response.statusCode).toBe(503);
      expect(expectEnvelope(response, "not_ready").message).toContain("PostgreSQL");
    } finally {
      await broken.close();
    }
  });
});

describe("database errors of the hot path (node-postgres, not Prisma)", () => {
  const pgError = (code: string, message = "boom") =>
    Object.assign(new Error(message), { code, severity: "ERROR" });

  it("are the client's fault for values no column holds, retryable for locks and timeouts, 503 when unreachable", () => {
    expect(toEnvelope(pgError("22P05", "unsupported Unicode escape sequence"))).toMatchObject({
      status: 400,
      code: "invalid_request",
    });
    expect(toEnvelope(pgError("22021"))).toMatchObject({ status: 400 });
    for (const code of ["55P03", "57014", "40P01", "40001"]) {
      expect(toEnvelope(pgError(code)), code).toMatchObject({ status: 503, retryAfter: 1 });
    }
    expect(
      toEnvelope(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
    ).toMatchObject({
      status: 503,
    });
    expect(toEnvelope(new Error("Query read timeout"))).toMatchObject({ status: 503 });
    expect(toEnvelope(pgError("XX000"))).toMatchObject({ status: 500, message: "internal server error" });
  });
});
