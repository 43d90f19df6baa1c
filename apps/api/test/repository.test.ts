import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { JobState } from "../../../packages/protocol/src/index.ts";

// The repository stands alone: a clone with nothing beside it has every document, fixture and
// tool it refers to, and its own documents describe what the code serves.

const root = fileURLToPath(new URL("../../../", import.meta.url));
const SKIPPED = new Set(["node_modules", ".git", ".turbo", "dist", "coverage", "generated", "tmp"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? files(path) : [path];
  });
}

const all = files(root);
const text = (path: string) => readFileSync(path, "utf8");
const markdown = all.filter((path) => path.endsWith(".md"));

describe("the repository stands alone", () => {
  it("refers to nothing outside itself (no ../shared, no shared/design or shared/fixtures)", () => {
    const outside = /\.\.\/shared\b|\bshared\/(design|fixtures)\b/;
    const offenders = all
      .filter((path) => !/\.(png|jpe?g|gz|tgz|zip|wasm)$/.test(path))
      .filter((path) => path !== fileURLToPath(import.meta.url))
      .filter((path) => outside.test(text(path)))
      .map((path) => relative(root, path));
    expect(offenders).toEqual([]);
  });

  it("has every file its Markdown links to", () => {
    expect(markdown.length).toBeGreaterThan(3);
    for (const path of markdown) {
      for (const match of text(path).matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
        const target = match[1] ?? "";
        if (/^[a-z]+:/.test(target)) continue; // a URL
        expect(existsSync(join(dirname(path), target)), `${relative(root, path)} → ${target}`).toBe(true);
      }
    }
  });

  it("links its own protocol and architecture documents from the README", () => {
    const readme = text(join(root, "README.md"));
    expect(readme).toContain("](docs/agent-protocol.md)");
    expect(readme).toContain("](docs/architecture.md)");
  });
});

describe("the documents describe what the code serves", () => {
  const protocol = text(join(root, "docs/agent-protocol.md"));
  const architecture = text(join(root, "docs/architecture.md"));
  const openapi = JSON.parse(text(join(root, "openapi/openapi.json"))) as { paths: Record<string, object> };

  it("docs/agent-protocol.md covers every agent endpoint", () => {
    const agentPaths = Object.keys(openapi.paths).filter((path) => path.startsWith("/api/agent/"));
    expect(agentPaths.length).toBeGreaterThanOrEqual(7);
    for (const path of agentPaths) {
      // OpenAPI writes {jobId}; the document does too.
      expect(protocol, path).toContain(path);
    }
  });

  it("docs/architecture.md names every job state and the API key routes", () => {
    for (const state of JobState.options) expect(architecture, state).toContain(state);
    for (const path of Object.keys(openapi.paths).filter((p) => p.startsWith("/api/v1/api-keys"))) {
      expect(architecture, path).toContain(path);
    }
  });
});
