import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, registeredCluster } from "../../../test/support/fixtures.ts";

// Every route of the OpenAPI document gets hostile input: it must answer a 4xx envelope (or a
// 2xx), never a 500, never a stack trace.
const document = JSON.parse(
  readFileSync(new URL("../../../openapi/openapi.json", import.meta.url), "utf8"),
) as {
  paths: Record<string, Record<string, unknown>>;
};
const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
);

const WEIRD_SEGMENTS = [
  "..%2F..%2Fetc%2Fpasswd",
  "%00",
  "%F0%9F%92%A9",
  "x".repeat(900),
  "null",
  "-1",
  "1e999",
  "%27%3B%20DROP%20TABLE%20%22Job%22%3B--",
];
const WEIRD_BODIES: unknown[] = [
  null,
  [],
  "string",
  42,
  { events: [null] },
  { displayName: { $ne: 1 } },
  { __proto__: { admin: true }, constructor: { prototype: { polluted: true } } },
  { catalogId: "../../x", namespace: "ORG", name: "-" },
  { kind: "apply", payload: [] },
  { outcome: "succeeded", appliedRef: "nope", timestamp: 5 },
  { phase: "", conditions: [{ type: "", status: "True" }] },
  { registrationToken: `vwksp-reg-${"z".repeat(64)}`, clusterId: { a: 1 } },
  JSON.parse(`${"[".repeat(200)}${"]".repeat(200)}`),
  { ttlSeconds: "1e9" },
  { template: "x".repeat(5000), namespace: "a", name: "b" },
];

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
let credential: string;
let clusterId: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "100000" } });
  key = await adminKey(harness);
  const registered = await registeredCluster(harness, key);
  credential = registered.credential;
  clusterId = registered.cluster.id;
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

function expectNoServerError(
  response: { statusCode: number; body: string; headers: Record<string, unknown> },
  what: string,
) {
  expect(response.statusCode, `${what} → ${response.statusCode} ${response.body.slice(0, 300)}`).toBeLessThan(
    500,
  );
  expect(response.body).not.toMatch(/\n\s+at \S+ \(|node_modules|\.ts:\d+/);
  if (response.statusCode >= 400) {
    expect(JSON.parse(response.body)).toEqual({
      error: expect.any(String),
      message: expect.any(String),
      requestId: expect.any(String),
    });
  }
}

const credentialFor = (path: string) => (path.startsWith("/api/agent/") ? credential : key);
const fill = (path: string, segment: (name: string) => string) =>
  path.replace(/\{(\w+)\}/g, (_, name: string) => segment(name));

describe("hostile input on every route", () => {
  it("covers the whole OpenAPI document", () => {
    expect(routes.length).toBeGreaterThan(25);
  });

  it.each(routes)(
    "$method $path survives weird path segments, bodies and credentials",
    async ({ method, path }) => {
      const auth = { authorization: `Bearer ${credentialFor(path)}` };
      const sane = fill(path, (name) => (name === "id" ? clusterId : name === "namespace" ? "org-a" : "x"));
      for (const segment of WEIRD_SEGMENTS) {
        const url = fill(path, () => segment);
        const response = await harness.app.inject({ method: method as "GET", url, headers: auth });
        expectNoServerError(response, `${method} ${url}`);
      }
      for (const body of WEIRD_BODIES) {
        for (const contentType of ["application/json", "application/vnd.vworkspace.agent.v1+json"]) {
          const response = await harness.app.inject({
            method: method as "POST",
            url: `${sane}?cluster=${clusterId}&wait=0&limit=abc&cursor=%ff&since=yesterday&state=bogus`,
            headers: { ...auth, "content-type": contentType },
            payload: JSON.stringify(body),
          });
          expectNoServerError(response, `${method} ${sane} ${JSON.stringify(body).slice(0, 80)}`);
        }
      }
      for (const headers of [
        {},
        { authorization: `Bearer ${"A".repeat(5000)}` },
        { authorization: "Bearer vwksp-key-\u0000\u0001" },
        { authorization: "Basic Og==" },
        {
          "content-type": "application/json",
          authorization: `Bearer ${credentialFor(path)}`,
          "content-length": "5",
        },
      ]) {
        const response = await harness.app.inject({
          method: method as "POST",
          url: sane,
          headers,
          payload: '{"a":',
        });
        expectNoServerError(response, `${method} ${sane} headers ${JSON.stringify(headers).slice(0, 60)}`);
      }
    },
  );
});
