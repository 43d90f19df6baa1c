import type { AddressInfo } from "node:net";
import { newJobId } from "@vwksp/core";
import { expect } from "vitest";
import { adminHeaders } from "../../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../../test/support/app.ts";
import { adminKey, createCluster, eventually, issueToken } from "../../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../../test/support/worker.ts";

export interface StoredEvent {
  eventKey: string | null;
  kind: string;
  resourceRef: {
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
    uid?: string;
    generation?: number;
  };
  conditions: { type: string; status: string; reason?: string; message?: string }[];
}

/** The real API (listening on a port, so the agent speaks real HTTP) and worker on this file's database. */
export async function startControlPlane(configOverrides: Record<string, string> = {}) {
  const env: TestEnv = await createTestEnv();
  const harness = await createTestApp({
    env,
    // Failed agent authentications count toward a per-address limit; tests fail on purpose.
    configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "10000", ...configOverrides },
    longPollRecheckMs: 200,
  });
  const worker = createTestWorker({ env, configOverrides });
  await harness.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(harness.app.server.address() as AddressInfo).port}`;
  const key = await adminKey(harness);

  const admin = async (method: "GET" | "POST" | "DELETE", path: string, payload?: unknown) => {
    const response = await harness.app.inject({
      method,
      url: path,
      headers: adminHeaders(key),
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
    return { status: response.statusCode, body: response.body ? response.json() : undefined };
  };

  return {
    url,
    harness,
    key,
    admin,
    /** A cluster waiting for its agent, and a registration token for it. */
    async newCluster(body: Record<string, unknown> = {}) {
      const cluster = await createCluster(harness, key, body);
      const { token } = await issueToken(harness, key, cluster.id);
      return { cluster, token };
    },
    /** Stored (non-heartbeat) events of a cluster, oldest first. */
    async events(clusterId: string): Promise<StoredEvent[]> {
      const rows = await harness.deps.db.agentEvent.findMany({
        where: { clusterId },
        orderBy: { id: "asc" },
      });
      return rows as unknown as StoredEvent[];
    },
    async job(jobId: string) {
      const view = await admin("GET", `/api/v1/jobs/${jobId}`);
      expect(view.status).toBe(200);
      return view.body as {
        state: string;
        outcome: string | null;
        error: string | null;
        appliedRef: unknown;
      };
    },
    async jobDone(jobId: string, timeoutMs = 15_000) {
      return eventually(async () => {
        const job = await this.job(jobId);
        return job.outcome ? job : undefined;
      }, timeoutMs);
    },
    async rawJob(clusterId: string, body: Record<string, unknown>) {
      const response = await admin("POST", `/api/v1/clusters/${clusterId}/jobs`, body);
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      return response.body as { jobId: string; idempotencyKey: string };
    },
    /**
     * A job the agent already ran, sent once more under a new id with `payload` instead: what an
     * agent sees when its answer got lost. The admin API answers a reused idempotency key with
     * the first job (or 409), so the copy is made in the database, ready for the next poll.
     */
    async resend(jobId: string, payload: unknown) {
      const id = newJobId(new Date());
      const now = new Date();
      const expires = new Date(now.getTime() + 900_000);
      await harness.deps.db.$executeRaw`
        INSERT INTO "Job" (id, "clusterId", kind, payload, "idempotencyKey", state, "createdAt", "updatedAt", "expiresAt", "readyAt")
        SELECT ${id}, "clusterId", kind, ${JSON.stringify(payload)}::jsonb, "idempotencyKey", 'ready', ${now}, ${now}, ${expires}, ${now}
        FROM "Job" WHERE id = ${jobId}`;
      return { jobId: id };
    },
    async close() {
      await worker.close();
      // Agents run in this process: an undici socket opened for a request that a stop aborted
      // stays in the shared pool without ever carrying a request, and Node counts such a
      // connection as busy (until headersTimeout, 60 s). A real agent process exits instead.
      harness.app.server.closeAllConnections();
      await harness.close();
      await env.close();
    },
  };
}

export type ControlPlane = Awaited<ReturnType<typeof startControlPlane>>;

/** Collects what the CLI writes. */
export function captureOutput() {
  let text = "";
  return {
    write(chunk: string) {
      text += chunk;
      return true;
    },
    text: () => text,
    lines: () => text.split("\n").filter(Boolean),
  };
}
