import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalBackend } from "../src/backends/local.ts";
import { AgentApiError, ProtocolError, TransportError } from "../src/errors.ts";
import { backoffDelay, classifyFailure, parseRetryAfter, retryDelay } from "../src/retry.ts";
import { decideResult } from "../src/runtime/process-job.ts";
import { createSignatureVerifier } from "../src/signature.ts";
import { agentJob, configMap, decideContext, memoryIdempotency } from "./support/jobs.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vwksp-decide-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const keys = generateKeyPairSync("ed25519");
const publicKey = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const signPayload = (payload: unknown) =>
  sign(null, Buffer.from(canonicalJson(payload)), keys.privateKey).toString("base64");

describe("what the agent answers a job", () => {
  const backend = () => createLocalBackend({ stateDir: dir });

  it("noop with error expired once expiresAt has passed, without applying", async () => {
    const job = agentJob("apply", configMap("default", "late"), {
      expiresAt: new Date(Date.now() - 1).toISOString(),
    });
    const idempotency = memoryIdempotency();
    expect(await decideResult(decideContext(backend(), { idempotency }), job)).toEqual({
      outcome: "noop",
      error: "expired",
      timestamp: expect.any(String),
    });
    expect(idempotency.keys.size).toBe(0);
  });

  it("noop for a replayed idempotency key; the key is recorded only after a success", async () => {
    const idempotency = memoryIdempotency();
    const context = decideContext(backend(), { idempotency });
    const job = agentJob("apply", configMap("default", "once"), {
      idempotencyKey: "configmap/default/once@1",
    });
    expect(await decideResult(context, job)).toMatchObject({
      outcome: "succeeded",
      appliedRef: { name: "once" },
    });
    expect(await decideResult(context, { ...job, id: "j-replay" })).toEqual({
      outcome: "noop",
      timestamp: expect.any(String),
    });
    const broken = agentJob("apply", { kind: "ConfigMap" }, { idempotencyKey: "broken@1" });
    expect(await decideResult(context, broken)).toMatchObject({
      outcome: "failed",
      error: expect.stringContaining("apply payload"),
    });
    expect([...idempotency.keys]).toEqual(["configmap/default/once@1"]);
  });

  it("verifies the Ed25519 signature over the canonical payload when the key is known", async () => {
    const context = decideContext(backend(), { publicKey });
    const payload = configMap("default", "signed");
    const good = agentJob("apply", payload, { signature: signPayload(payload) });
    expect(await decideResult(context, good)).toMatchObject({ outcome: "succeeded" });

    const tampered = agentJob(
      "apply",
      { ...payload, data: { a: "evil" } },
      { signature: signPayload(payload) },
    );
    expect(await decideResult(context, tampered)).toEqual({
      outcome: "failed",
      error: "signature verification failed: the payload does not match its signature",
      timestamp: expect.any(String),
    });
    const garbage = agentJob("apply", payload, { signature: "not base64 at all" });
    expect(await decideResult(context, garbage)).toMatchObject({ outcome: "failed" });
  });

  it("accepts unsigned jobs unless signatures are required, and skips checks without a key", async () => {
    const unsigned = agentJob("apply", configMap("default", "plain"));
    expect(await decideResult(decideContext(backend(), { publicKey }), unsigned)).toMatchObject({
      outcome: "succeeded",
    });
    expect(
      await decideResult(decideContext(backend(), { publicKey, requireSignatures: true }), {
        ...unsigned,
        id: "j-strict",
      }),
    ).toMatchObject({ outcome: "failed", error: "the job is unsigned and this agent requires signed jobs" });
    const forged = agentJob("apply", configMap("default", "nokey"), { signature: "AAAA" });
    expect(await decideResult(decideContext(backend()), forged)).toMatchObject({ outcome: "succeeded" });
    expect(createSignatureVerifier(undefined)({}, "AAAA")).toBe("no-key");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      type: "spki",
      format: "pem",
    });
    expect(() => createSignatureVerifier(rsa.toString())).toThrow("expected ed25519");
  });
});

describe("retries", () => {
  it("use full jitter between 1 s and a ceiling doubling up to 60 s", () => {
    expect(backoffDelay(0, () => 0.999)).toBeCloseTo(1_000);
    expect(backoffDelay(1, () => 0)).toBe(1_000);
    expect(backoffDelay(1, () => 0.999)).toBeCloseTo(1_999);
    expect(backoffDelay(3, () => 0.5)).toBe(4_500);
    expect(backoffDelay(6, () => 0.999)).toBeCloseTo(59_941);
    expect(backoffDelay(50, () => 0.999_999)).toBeLessThan(60_000);
    const spread = new Set(
      Array.from({ length: 50 }, () => Math.round(backoffDelay(10, Math.random) / 1_000)),
    );
    expect(spread.size).toBeGreaterThan(20);
  });

  it("honour Retry-After on 429 and 503, never below 1 s", () => {
    const limited = (status: number, retryAfterMs?: number) =>
      new AgentApiError(status, "x", "y", "rq", retryAfterMs);
    expect(retryDelay(limited(429, 42_000), 0, () => 0.5)).toBe(42_000);
    expect(retryDelay(limited(503, 5_000), 3, () => 0.5)).toBe(5_000);
    expect(retryDelay(limited(429, 0), 0, () => 0.5)).toBe(1_000);
    expect(retryDelay(limited(429), 2, () => 0.5)).toBe(2_500);
    expect(retryDelay(limited(500, 42_000), 0, () => 0)).toBe(1_000);
    expect(parseRetryAfter("120", new Date())).toBe(120_000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 08:00:30 GMT", new Date("2026-11-27T08:00:00Z"))).toBe(30_000);
    expect(parseRetryAfter("soon", new Date())).toBeUndefined();
  });

  it("follow the contract's status table", () => {
    const status = (code: number) => classifyFailure(new AgentApiError(code, "x", "y"));
    expect([401, 403, 400, 404, 409, 413, 408, 429, 500, 503].map(status)).toEqual([
      "unauthorized",
      "forbidden",
      "fatal",
      "fatal",
      "fatal",
      "fatal",
      "retry",
      "retry",
      "retry",
      "retry",
    ]);
    expect(classifyFailure(new TransportError("ECONNRESET"))).toBe("retry");
    expect(classifyFailure(new ProtocolError("bad"))).toBe("retry");
    expect(classifyFailure(new Error("bug"))).toBe("fatal");
  });
});
