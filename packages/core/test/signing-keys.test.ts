import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSigningKeyVault, isSealed, plainSigningKeys } from "../src/clusters/signing-keys.ts";
import { loadConfig } from "../src/config.ts";
import { signPayload, verifyPayloadSignature } from "../src/jobs/signing.ts";

describe("signing key vault", () => {
  const vault = createSigningKeyVault(randomBytes(32));

  it("seals new private keys and opens them to a key that signs", () => {
    const { signingPublicKey, signingPrivateKey } = vault.newKeyPair();
    expect(isSealed(signingPrivateKey)).toBe(true);
    expect(signingPrivateKey).not.toContain("PRIVATE KEY");
    const signature = signPayload(vault.open(signingPrivateKey), { a: 1 });
    expect(verifyPayloadSignature(signingPublicKey, { a: 1 }, signature)).toBe(true);
  });

  it("opens keys stored plain before the secret was set, and seals each time with a new IV", () => {
    const { signingPrivateKey: plain } = plainSigningKeys.newKeyPair();
    expect(plain).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(vault.open(plain)).toBe(plain);
    const first = vault.seal(plain);
    expect(vault.seal(plain)).not.toBe(first);
    expect(vault.seal(first)).toBe(first);
    expect(vault.open(first)).toBe(plain);
  });

  it("refuses with a clear message without the secret, with another secret, or when tampered with", () => {
    const { signingPrivateKey } = vault.newKeyPair();
    expect(signingPrivateKey).toMatch(new RegExp(`^vwksp-sealed:v1:${vault.keyId}:`));
    expect(() => plainSigningKeys.open(signingPrivateKey)).toThrow(/set SIGNING_KEY_SECRET/);
    const other = createSigningKeyVault(randomBytes(32));
    expect(() => other.open(signingPrivateKey)).toThrow(/sealed under another SIGNING_KEY_SECRET/);
    expect(other.sealedElsewhere(signingPrivateKey)).toBe(true);
    expect(vault.sealedElsewhere(signingPrivateKey)).toBe(false);
    const tampered = `${signingPrivateKey.slice(0, -4)}AAA=`;
    expect(() => vault.open(tampered)).toThrow(/altered/);
    expect(() => vault.open(`vwksp-sealed:v1:${vault.keyId}:garbage`)).toThrow(/malformed/);
  });

  it("takes SIGNING_KEY_SECRET as 64 hex characters or base64 of 32 bytes, nothing else", () => {
    expect(loadConfig({ SIGNING_KEY_SECRET: "ab".repeat(32) }).SIGNING_KEY_SECRET).toBe("ab".repeat(32));
    const base64 = randomBytes(32).toString("base64");
    expect(loadConfig({ SIGNING_KEY_SECRET: base64 }).SIGNING_KEY_SECRET).toBe(base64);
    expect(loadConfig({ SIGNING_KEY_SECRET: "" }).SIGNING_KEY_SECRET).toBeUndefined();
    for (const bad of ["short", "ab".repeat(31), randomBytes(16).toString("base64"), "zz".repeat(32)]) {
      expect(() => loadConfig({ SIGNING_KEY_SECRET: bad })).toThrow(/SIGNING_KEY_SECRET: must be 32 bytes/);
      // The value itself is never echoed.
      expect(() => loadConfig({ SIGNING_KEY_SECRET: bad })).not.toThrow(new RegExp(bad));
    }
  });
});
