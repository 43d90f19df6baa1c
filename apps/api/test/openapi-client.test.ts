import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// What a module author does with openapi/openapi.json: generate types with openapi-typescript
// (default options) and write a client against them with openapi-fetch. The program below must
// compile without a diagnostic; a request the API refuses must not.

const root = fileURLToPath(new URL("../../../", import.meta.url));
const require = createRequire(import.meta.url);
const openapiFetchTypes = join(dirname(require.resolve("openapi-fetch/package.json")), "dist/index.d.mts");

const PROGRAM = `
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type JobState = components["schemas"]["JobView"]["state"];

const client = createClient<paths>({
  baseUrl: "http://localhost:8080",
  headers: { Authorization: "Bearer vwksp-key-5b8e1f4a7c0d3e6f9a2b5c8d1e4f7a0b3c6d9e2f5a8b1c4d" },
});

export async function onboard(): Promise<{ token: string; jobId: string; states: JobState[] }> {
  // Create a cluster with just a name: every other setting has a default.
  const cluster = await client.POST("/api/v1/clusters", { body: { displayName: "Acme production" } });
  if (cluster.error) throw new Error(\`\${cluster.error.error}: \${cluster.error.message}\`);
  const id: string = cluster.data.id;
  const pending: boolean = cluster.data.status === "pending";

  // Issue the registration token the agent registers with (the body, a ttlSeconds, is optional).
  const issued = await client.POST("/api/v1/clusters/{id}/registration-tokens", { params: { path: { id } } });
  if (issued.error) throw new Error(issued.error.message);
  const token: string = issued.data.token;
  const expiresAt: string = issued.data.expiresAt;

  // Deploy Vaultwarden from the catalog.
  const deployed = await client.POST("/api/v1/clusters/{id}/applications", {
    params: { path: { id } },
    body: { catalogId: "vaultwarden", namespace: "org-acme", name: "vaultwarden" },
  });
  if (deployed.error) throw new Error(deployed.error.message);
  const jobId: string = deployed.data.jobId;

  // List the cluster's jobs.
  const jobs = await client.GET("/api/v1/clusters/{id}/jobs", {
    params: { path: { id }, query: { limit: 20 } },
  });
  if (jobs.error) throw new Error(jobs.error.message);
  const states: JobState[] = jobs.data.items.map((job) => job.state);
  const next: string | null = jobs.data.nextCursor;
  void [pending, expiresAt, next];
  return { token, jobId, states };
}
`;

/** Requests the document must not allow: the types are real, not `any`. */
const REFUSED = `
import createClient from "openapi-fetch";
import type { paths } from "./schema";

const client = createClient<paths>({ baseUrl: "http://localhost:8080" });

export async function wrong() {
  await client.POST("/api/v1/clusters", { body: { name: "no displayName" } });
  await client.POST("/api/v1/clusters/{id}/applications", {
    params: { path: { id: "3f2b8c71-9a4e-4d6b-8e15-7c0a2d9f6b43" } },
    body: { catalog: "vaultwarden", namespace: "org-acme", name: "vaultwarden" },
  });
}
`;

let dir: string;
/** The previous compilation: the generated schema is checked once, not per program. */
let previous: ts.Program | undefined;

function compile(program: string): string[] {
  const file = join(dir, `program-${Math.random().toString(16).slice(2)}.ts`);
  writeFileSync(file, program);
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    noUnusedLocals: true,
    exactOptionalPropertyTypes: true,
    paths: { "openapi-fetch": [openapiFetchTypes] },
  };
  const created = ts.createProgram([file, join(dir, "schema.ts")], options, undefined, previous);
  previous = created;
  return ts
    .getPreEmitDiagnostics(created)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}

describe("a client generated from openapi/openapi.json", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vwksp-openapi-client-"));
    const document = JSON.parse(readFileSync(join(root, "openapi/openapi.json"), "utf8"));
    // Default options, as `npx openapi-typescript openapi/openapi.json -o schema.ts` would.
    const types = astToString(await openapiTS(document));
    writeFileSync(join(dir, "schema.ts"), types);
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("compiles a program that creates a cluster, issues a token, deploys an app and lists jobs", () => {
    expect(compile(PROGRAM)).toEqual([]);
  }, 120_000);

  it("does not compile requests the API refuses (a missing displayName, a misspelled field)", () => {
    const diagnostics = compile(REFUSED);
    expect(diagnostics).toHaveLength(2);
    expect(diagnostics[0]).toContain("displayName");
    expect(diagnostics[1]).toContain("'catalog' does not exist");
  }, 120_000);
});
