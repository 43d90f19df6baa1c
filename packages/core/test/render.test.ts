import { readFileSync, writeFileSync } from "node:fs";
import { canonicalJson } from "@vwksp/protocol";
import { describe, expect, it } from "vitest";
import { globMatch, namespaceAllowed } from "../src/jobs/policy.ts";
import { mergeValues, renderApplicationInstance, renderOperation } from "../src/jobs/render.ts";
import { signPayload, verifyPayloadSignature } from "../src/jobs/signing.ts";

const golden = (name: string) => new URL(`./golden/${name}`, import.meta.url);

/** Compares with the golden file; UPDATE_GOLDEN=1 rewrites it after a deliberate change. */
function expectGolden(name: string, value: unknown) {
  const rendered = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden(name), rendered);
  expect(rendered).toBe(readFileSync(golden(name), "utf8"));
}

describe("rendering", () => {
  it("renders the ApplicationInstance of a Vaultwarden deploy exactly as the golden file", () => {
    const payload = renderApplicationInstance(
      "5b1f7c1e-4a0e-4d55-9f4e-2d7d3c1b9a10",
      {
        intent: "ensure-application-instance",
        catalogId: "vaultwarden",
        namespace: "org-demo",
        name: "vault",
        hostname: "vault.demo.example.com",
        values: { vaultwarden: { signupsAllowed: false }, replicas: 1 },
        generation: 3,
      },
      {
        chart: {
          sourceType: "helm",
          url: "https://guerzon.github.io/vaultwarden",
          name: "vaultwarden",
          version: "0.31.8",
        },
        defaultValues: { vaultwarden: { signupsAllowed: true, domain: "" }, storage: { size: "1Gi" } },
      },
    );
    expectGolden("application-instance.vaultwarden.json", payload);
  });

  it("renders an Operation for a built-in template", () => {
    const payload = renderOperation("5b1f7c1e-4a0e-4d55-9f4e-2d7d3c1b9a10", {
      intent: "request-operation",
      template: "backup.velero",
      namespace: "org-demo",
      name: "vault",
      operationName: "vault-backup-abc123",
      parameters: { ttl: "72h" },
    });
    expectGolden("operation.backup-velero.json", payload);
  });

  it("merges values over defaults key by key", () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2], e: null })).toEqual({
      a: { b: 1, c: 3 },
      d: [2],
      e: null,
    });
  });
});

describe("allow-lists", () => {
  it.each([
    ["org-*", "org-demo", true],
    ["org-*", "org-", true],
    ["org-*", "kube-system", false],
    ["default", "default", true],
    ["default", "defaults", false],
    ["team-?", "team-a", true],
    ["team-?", "team-ab", false],
    ["a.b", "axb", false],
  ])("glob %s vs %s → %s", (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });

  it("matches a namespace against any of the patterns", () => {
    expect(namespaceAllowed({ allowedNamespaces: ["org-*", "default"] }, "default")).toBe(true);
    expect(namespaceAllowed({ allowedNamespaces: [] }, "default")).toBe(false);
  });
});

describe("canonical JSON and signatures", () => {
  it("follows RFC 8785 for key order, numbers and escapes", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], "€": 1e21, "\u00e9": 0.1, "": -0 })).toBe(
      '{"":0,"a":[true,null,"x"],"b":1,"é":0.1,"€":1e+21}',
    );
    expect(canonicalJson({ z: { y: 1, x: 2 } })).toBe('{"z":{"x":2,"y":1}}');
    expect(canonicalJson("line\nbreak\u2028")).toBe('"line\\nbreak\u2028"');
  });

  it("signs with Ed25519 and verifies independent of key order", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const pub = publicKey.export({ type: "spki", format: "pem" }).toString();
    const priv = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const signature = signPayload(priv, { b: 2, a: 1 });
    expect(Buffer.from(signature, "base64")).toHaveLength(64);
    expect(verifyPayloadSignature(pub, { a: 1, b: 2 }, signature)).toBe(true);
    expect(verifyPayloadSignature(pub, { a: 1, b: 3 }, signature)).toBe(false);
    expect(verifyPayloadSignature(pub, { a: 1, b: 2 }, "not base64 at all")).toBe(false);
  });
});
