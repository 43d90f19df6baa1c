import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSigningKeyVault, plainSigningKeys } from "../src/clusters/signing-keys.ts";
import { loadConfig } from "../src/config.ts";
import { signPayload, verifyPayloadSignature } from "../src/jobs/signing.ts";
import { isSealed } from "../src/secrets/sealer.ts";

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
    expect(() => plainSigningKeys.open(signingPrivateKey)).toThrow(/set SECRET_KEY/);
    const other = createSigningKeyVault(randomBytes(32));
    expect(() => other.open(signingPrivateKey)).toThrow(/sealed under another SECRET_KEY/);
    expect(other.sealedElsewhere(signingPrivateKey)).toBe(true);
    expect(vault.sealedElsewhere(signingPrivateKey)).toBe(false);
    const tampered = `${signingPrivateKey.slice(0, -4)}AAA=`;
    expect(() => vault.open(tampered)).toThrow(/altered/);
    expect(() => vault.open(`vwksp-sealed:v1:${vault.keyId}:garbage`)).toThrow(/malformed/);
  });

  it("opens keys sealed under a previous secret and reseals them under the current one", () => {
    const former = randomBytes(32);
    const old = createSigningKeyVault(former);
    const { signingPrivateKey: sealedBefore } = old.newKeyPair();
    const { signingPrivateKey: plain } = plainSigningKeys.newKeyPair();
    const rotating = createSigningKeyVault(randomBytes(32), [former]);
    expect(rotating.previousKeyIds).toEqual([old.keyId]);
    expect(rotating.sealedElsewhere(sealedBefore)).toBe(false);
    expect(rotating.needsSealing(sealedBefore)).toBe(true);
    expect(rotating.needsSealing(plain)).toBe(true);
    const resealed = rotating.reseal(sealedBefore);
    expect(resealed).toMatch(new RegExp(`^vwksp-sealed:v1:${rotating.keyId}:`));
    expect(rotating.needsSealing(resealed)).toBe(false);
    expect(rotating.open(resealed)).toBe(old.open(sealedBefore));
    // A key sealed under a secret it was not given still refuses, naming what it has.
    const { signingPrivateKey: stranger } = createSigningKeyVault(randomBytes(32)).newKeyPair();
    expect(rotating.sealedElsewhere(stranger)).toBe(true);
    expect(rotating.needsSealing(stranger)).toBe(false);
    expect(() => rotating.open(stranger)).toThrow(
      new RegExp(`this process has ${old.keyId}, ${rotating.keyId}`),
    );
  });

  it("takes SECRET_KEY_PREVIOUS as a comma-separated list of such secrets, only beside the current one", () => {
    const [a, b, current] = [0, 1, 2].map(() => randomBytes(32).toString("hex")) as [string, string, string];
    const config = loadConfig({ SECRET_KEY: current, SECRET_KEY_PREVIOUS: `${a}, ${b}` });
    expect(config.SECRET_KEY_PREVIOUS).toEqual([a, b]);
    expect(loadConfig({}).SECRET_KEY_PREVIOUS).toEqual([]);
    expect(() => loadConfig({ SECRET_KEY: current, SECRET_KEY_PREVIOUS: `${a},short` })).toThrow(
      /SECRET_KEY_PREVIOUS.*must be 32 bytes/,
    );
    expect(() => loadConfig({ SECRET_KEY_PREVIOUS: a })).toThrow(
      /SECRET_KEY: required when SECRET_KEY_PREVIOUS is set/,
    );
  });

  it("takes SECRET_KEY as 64 hex characters or base64 of 32 bytes, nothing else", () => {
    expect(loadConfig({ SECRET_KEY: "ab".repeat(32) }).SECRET_KEY).toBe("ab".repeat(32));
    const base64 = randomBytes(32).toString("base64");
    expect(loadConfig({ SECRET_KEY: base64 }).SECRET_KEY).toBe(base64);
    expect(loadConfig({ SECRET_KEY: "" }).SECRET_KEY).toBeUndefined();
    for (const bad of ["short", "ab".repeat(31), randomBytes(16).toString("base64"), "zz".repeat(32)]) {
      expect(() => loadConfig({ SECRET_KEY: bad })).toThrow(/SECRET_KEY: must be 32 bytes/);
      // The value itself is never echoed.
      expect(messageOf(() => loadConfig({ SECRET_KEY: bad }))).not.toContain(bad);
    }
  });
});

/** The message of what `work` throws ("" when it does not throw). */
function messageOf(work: () => unknown): string {
  try {
    work();
    return "";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
