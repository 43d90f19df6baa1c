import { expect } from "vitest";
import { adminHeaders, agentHeaders } from "./agent.ts";
import type { createTestApp } from "./app.ts";

type Harness = Awaited<ReturnType<typeof createTestApp>>;

export const TEST_ADMIN_KEY = "vwksp-key-test-admin-0123456789abcdef";

/** An all-scope admin key in the default organization. */
export async function adminKey(harness: Harness): Promise<string> {
  await harness.deps.apiKeys.ensureBootstrapKey(TEST_ADMIN_KEY);
  return TEST_ADMIN_KEY;
}

export async function createCluster(harness: Harness, key: string, body: Record<string, unknown> = {}) {
  const response = await harness.app.inject({
    method: "POST",
    url: "/api/v1/clusters",
    headers: adminHeaders(key),
    payload: { displayName: "Test cluster", ...body },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; slug: string; status: string; signingPublicKey: string };
}

export async function issueToken(harness: Harness, key: string, clusterId: string, ttlSeconds?: number) {
  const response = await harness.app.inject({
    method: "POST",
    url: `/api/v1/clusters/${clusterId}/registration-tokens`,
    headers: adminHeaders(key),
    ...(ttlSeconds ? { payload: { ttlSeconds } } : {}),
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { token: string; tokenId: string; expiresAt: string };
}

/** The register call exactly as the Go operator makes it. */
export function register(harness: Harness, token: string, clusterId?: string, remoteAddress?: string) {
  return harness.app.inject({
    method: "POST",
    url: "/api/agent/register",
    headers: agentHeaders(token),
    payload: JSON.stringify({ registrationToken: token, ...(clusterId ? { clusterId } : {}) }),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

/** A registered cluster: its id and agent credential. */
export async function registeredCluster(harness: Harness, key: string, body: Record<string, unknown> = {}) {
  const cluster = await createCluster(harness, key, body);
  const { token } = await issueToken(harness, key, cluster.id);
  const response = await register(harness, token, cluster.id);
  expect(response.statusCode, response.body).toBe(200);
  return { cluster, credential: (response.json() as { token: string }).token };
}

/** GET /api/agent/jobs exactly as the Go operator sends it (no body, no Content-Type). */
export async function poll(harness: Harness, clusterId: string, credential: string, wait = 0) {
  const response = await harness.app.inject({
    method: "GET",
    url: `/api/agent/jobs?cluster=${encodeURIComponent(clusterId)}&wait=${wait}`,
    headers: agentHeaders(credential, false),
  });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { jobs: AgentJobShape[] }).jobs;
}

export interface AgentJobShape {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  createdAt: string;
  expiresAt: string;
  signature?: string;
}

export function ack(harness: Harness, jobId: string, credential: string) {
  return harness.app.inject({
    method: "POST",
    url: `/api/agent/jobs/${encodeURIComponent(jobId)}/ack`,
    headers: agentHeaders(credential, false),
  });
}

export function postStatus(harness: Harness, jobId: string, credential: string, body: unknown) {
  return harness.app.inject({
    method: "POST",
    url: `/api/agent/jobs/${encodeURIComponent(jobId)}/status`,
    headers: agentHeaders(credential),
    payload: JSON.stringify(body),
  });
}

/** POST /api/agent/events with the Go operator's headers. */
export function postEvents(harness: Harness, credential: string, events: unknown[]) {
  return harness.app.inject({
    method: "POST",
    url: "/api/agent/events",
    headers: agentHeaders(credential),
    payload: JSON.stringify({ events }),
  });
}

export function postResult(harness: Harness, jobId: string, credential: string, body: unknown) {
  return harness.app.inject({
    method: "POST",
    url: `/api/agent/jobs/${encodeURIComponent(jobId)}/result`,
    headers: agentHeaders(credential),
    payload: JSON.stringify(body),
  });
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function rawJob(
  harness: Harness,
  key: string,
  clusterId: string,
  name: string,
  extra: Record<string, unknown> = {},
) {
  const response = await harness.app.inject({
    method: "POST",
    url: `/api/v1/clusters/${clusterId}/jobs`,
    headers: adminHeaders(key),
    payload: {
      kind: "apply",
      payload: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: "default" },
        data: { a: "b" },
      },
      ...extra,
    },
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json() as { jobId: string; state: string; idempotencyKey: string };
}
