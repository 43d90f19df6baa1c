import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { refineDocument } from "../src/http/openapi-document.ts";

// What the committed document promises a module author (refineDocument keeps it so).

// biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON
type Json = any;

const document: Json = JSON.parse(
  readFileSync(new URL("../../../openapi/openapi.json", import.meta.url), "utf8"),
);
const operations: { where: string; path: string; operation: Json }[] = Object.entries<Json>(
  document.paths,
).flatMap(([path, item]) =>
  Object.entries<Json>(item).map(([method, operation]) => ({
    where: `${method.toUpperCase()} ${path}`,
    path,
    operation,
  })),
);

describe("openapi/openapi.json", () => {
  it("names, summarizes, tags and describes every operation and parameter", () => {
    expect(operations.length).toBeGreaterThanOrEqual(47);
    for (const { where, operation } of operations) {
      expect(operation.operationId, where).toBeTruthy();
      expect(operation.summary, where).toBeTruthy();
      expect(operation.description, where).toBeTruthy();
      expect(operation.tags?.length, where).toBe(1);
      for (const parameter of operation.parameters ?? []) {
        expect(parameter.description, `${where} ${parameter.name}`).toBeTruthy();
      }
    }
  });

  it("lists every error an operation can give, with the envelope, and Retry-After on 429 and 503", () => {
    for (const { where, path, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      const schemes = (operation.security ?? []).flatMap((requirement: Json) => Object.keys(requirement));
      if (schemes.includes("apiKey") || schemes.includes("agentToken")) {
        expect(statuses, where).toEqual(expect.arrayContaining(["401", "403", "429"]));
      }
      if (operation.requestBody)
        expect(statuses, where).toEqual(expect.arrayContaining(["400", "413", "415"]));
      if (path.startsWith("/api/")) expect(statuses, where).toEqual(expect.arrayContaining(["503", "500"]));
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        expect(response.description, `${where} ${status}`).not.toBe("Default Response");
        if (Number(status) < 400) continue;
        for (const media of Object.values<Json>(response.content)) {
          expect(media.schema, `${where} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorEnvelope" });
          expect(Object.keys(media.example).sort(), `${where} ${status}`).toEqual([
            "error",
            "message",
            "requestId",
          ]);
        }
        if (status === "429" || status === "503")
          expect(response.headers?.["Retry-After"], where).toBeDefined();
      }
    }
    const ready = document.paths["/readyz"].get.responses["503"];
    expect(ready.content["application/json"].example.error).toBe("not_ready");
  });

  it("has one schema per type, and request forms leave defaulted fields optional", () => {
    const names = Object.keys(document.components.schemas);
    expect(names.filter((name) => name.endsWith("Input"))).toEqual([]);
    const create = document.components.schemas.CreateClusterBody;
    expect(create.required).toEqual(["displayName"]);
    expect(create.properties.connectivityMode.default).toBeUndefined();
    expect(create.properties.connectivityMode.description).toContain('"pull"');
  });

  it("gives realistic examples: a seeded catalog id, issued token shapes, RFC 3339 times", () => {
    const deploy = document.paths["/api/v1/clusters/{id}/applications"].post.requestBody.content;
    expect(deploy["application/json"].example.catalogId).toBe("vaultwarden");
    const issued = document.paths["/api/v1/clusters/{id}/registration-tokens"].post.responses["201"].content;
    expect(issued["application/json"].example.token).toMatch(/^vwksp-reg-[0-9a-f]{64}$/);
    expect(issued["application/json"].example.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const registered = document.paths["/api/agent/register"].post.responses["200"].content;
    expect(Object.values<Json>(registered)[0].example.token).toMatch(/^vwksp-agt-[0-9a-f]{64}$/);
  });

  it("refuses to write an operation without a summary or a parameter without a description", () => {
    const bare = (operation: Json) => ({
      openapi: "3.1.0",
      components: { schemas: {} },
      paths: {
        "/api/v1/things/{id}": {
          get: { operationId: "getThing", tags: ["things"], security: [], ...operation },
        },
      },
    });
    expect(() => refineDocument(bare({ responses: {} }))).toThrow(/no summary/);
    const parameter = { in: "path", name: "id", required: true, schema: { type: "string" } };
    expect(() =>
      refineDocument(bare({ summary: "Get a thing", parameters: [parameter], responses: {} })),
    ).toThrow(/parameter path id has no description/);
  });
});
