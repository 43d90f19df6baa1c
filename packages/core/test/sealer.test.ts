import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSealer, isSealed, SealedValueError } from "../src/secrets/sealer.ts";

const secret = () => randomBytes(32);

describe("the sealer", () => {
  it("seals bound to a context: the value opens only for that context", () => {
    const sealer = createSealer({ current: secret() });
    const kubeconfig = "apiVersion: v1\nusers: [{name: u, user: {token: abc}}]";
    const stored = sealer.seal(kubeconfig, "kubeconfig:cluster-a");
    expect(isSealed(stored)).toBe(true);
    expect(stored).toMatch(/^vwksp-sealed:v2:[0-9a-f]{8}:/);
    expect(stored).not.toContain("abc");
    expect(sealer.open(stored, "kubeconfig:cluster-a")).toBe(kubeconfig);
    // Copied onto another cluster's row, or read without its context, it does not open.
    expect(() => sealer.open(stored, "kubeconfig:cluster-b")).toThrow(/does not open/);
    expect(() => sealer.open(stored)).toThrow(/without its context/);
  });

  it("opens values sealed under a previous secret, and reseals them under the current one with their binding", () => {
    const former = secret();
    const old = createSealer({ current: former });
    const stored = old.seal("git-token", "gitops:cluster-a");
    const rotating = createSealer({ current: secret(), previous: [former] });
    expect(rotating.needsSealing(stored)).toBe(true);
    const resealed = rotating.reseal(stored, "gitops:cluster-a");
    expect(rotating.needsSealing(resealed)).toBe(false);
    expect(resealed).toContain(`:v2:${rotating.keyId}:`);
    expect(rotating.open(resealed, "gitops:cluster-a")).toBe("git-token");
    // A process that never had the former secret says which secret it would need.
    const stranger = createSealer({ current: secret(), settingName: "SECRET_KEY" });
    expect(stranger.sealedElsewhere(stored)).toBe(true);
    expect(() => stranger.open(stored, "gitops:cluster-a")).toThrow(/sealed under another SECRET_KEY/);
  });

  it("refuses to seal without a secret, and says what to set to open", () => {
    const none = createSealer({ current: undefined, settingName: "SECRET_KEY" });
    expect(none.sealing).toBe(false);
    expect(() => none.seal("x")).toThrow(SealedValueError);
    const stored = createSealer({ current: secret() }).seal("x", "c");
    expect(() => none.open(stored, "c")).toThrow(/set SECRET_KEY to use it/);
    // Plain values pass through (stored before sealing existed).
    expect(none.open("plain")).toBe("plain");
  });

  it("never opens a tampered value, and never echoes it", () => {
    const sealer = createSealer({ current: secret() });
    const stored = sealer.seal("top-secret-value", "c");
    const parts = stored.split(":");
    const ciphertext = Buffer.from(parts[5] ?? "", "base64");
    ciphertext[0] = (ciphertext[0] ?? 0) ^ 1;
    parts[5] = ciphertext.toString("base64");
    const tampered = parts.join(":");
    let message = "";
    try {
      sealer.open(tampered, "c");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/altered/);
    expect(message).not.toContain("top-secret");
    expect(() => sealer.open(`vwksp-sealed:v2:${sealer.keyId}:garbage`, "c")).toThrow(/malformed/);
    expect(() => sealer.open("vwksp-sealed:v9:x:y", "c")).toThrow(/unknown format/);
  });
});
