import type { AgentJob } from "@vwksp/protocol";
import type { ClusterBackend } from "../../src/backends/backend.ts";
import type { Timing } from "../../src/clock.ts";
import type { IdempotencyStore } from "../../src/credentials/credentials.ts";
import { silentLogger } from "../../src/log.ts";
import { createSignatureVerifier } from "../../src/signature.ts";

export const CLUSTER_ID = "6f1d8a52-3c1e-4b6f-9d51-0c6f4c3b2a10";

let counter = 0;

/** A delivered job as the server sends it. */
export function agentJob(
  kind: AgentJob["kind"],
  payload: Record<string, unknown>,
  extra: Partial<AgentJob> = {},
): AgentJob {
  counter += 1;
  const now = Date.now();
  return {
    id: `j-test-${counter}`,
    kind,
    payload,
    idempotencyKey: `test/${counter}@1`,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 900_000).toISOString(),
    ...extra,
  };
}

export const configMap = (namespace: string, name: string, data: Record<string, string> = { a: "b" }) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data,
});

export const applicationInstance = (namespace: string, name: string, catalogId = "vaultwarden") => ({
  apiVersion: "apps.vworkspace.io/v1alpha1",
  kind: "ApplicationInstance",
  metadata: { name, namespace, labels: { team: "a" } },
  spec: { appRef: { catalogId }, release: { name, namespace } },
});

export function memoryIdempotency(): IdempotencyStore & { keys: Set<string> } {
  const keys = new Set<string>();
  return {
    keys,
    has: async (key) => keys.has(key),
    record: async (key) => {
      keys.add(key);
    },
  };
}

/** The context decideResult needs, with defaults a test overrides. */
export function decideContext(
  backend: ClusterBackend,
  overrides: Partial<{
    timing: Timing;
    publicKey: string;
    requireSignatures: boolean;
    idempotency: IdempotencyStore;
  }> = {},
) {
  return {
    backend,
    clusterId: CLUSTER_ID,
    timing: overrides.timing ?? {
      clock: { now: () => new Date() },
      sleep: async () => {},
      random: () => 0.5,
    },
    verify: createSignatureVerifier(overrides.publicKey),
    requireSignatures: overrides.requireSignatures ?? false,
    idempotency: overrides.idempotency ?? memoryIdempotency(),
    log: silentLogger,
  };
}
