import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhooksService, credentialSealerFor, sendWebhook } from "../../../packages/core/src/index.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  issueToken,
  poll,
  postResult,
  rawJob,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";
import { sweepWebhooks } from "../src/webhooks.ts";

interface Received {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/** A webhook receiver on loopback that verifies every message with the standardwebhooks library. */
async function startReceiver() {
  const state = {
    secret: "",
    failNext: 0,
    alwaysFail: false,
    received: [] as Received[],
    invalid: 0,
    requests: 0,
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      state.requests += 1;
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const verified = new Webhook(state.secret).verify(body, {
          "webhook-id": String(request.headers["webhook-id"]),
          "webhook-timestamp": String(request.headers["webhook-timestamp"]),
          "webhook-signature": String(request.headers["webhook-signature"]),
        }) as { type: string; data: Record<string, unknown>; timestamp: string };
        if (state.alwaysFail || state.failNext > 0) {
          state.failNext -= 1;
          response.writeHead(503).end("try later");
          return;
        }
        state.received.push({
          id: String(request.headers["webhook-id"]),
          type: verified.type,
          data: verified.data,
        });
        response.writeHead(204).end();
      } catch {
        state.invalid += 1;
        response.writeHead(400).end("bad signature");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { state, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Retries `check` (assertions) until it passes, or rethrows its last failure after `timeoutMs`. */
async function until(check: () => Promise<unknown>, timeoutMs = 8_000) {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let env: TestEnv;
let api: Awaited<ReturnType<typeof createTestApp>>;
let strictApi: Awaited<ReturnType<typeof createTestApp>>;
let worker: ReturnType<typeof createTestWorker>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await createTestApp({ env, configOverrides: { WEBHOOKS_ALLOW_PRIVATE: "true" } });
  strictApi = await createTestApp({ env });
  worker = createTestWorker({
    env,
    configOverrides: { WEBHOOKS_ALLOW_PRIVATE: "true" },
    webhookRetryDelaysMs: [100, 100],
  });
  key = await adminKey(api);
});

afterAll(async () => {
  await worker?.close();
  await strictApi?.close();
  await api?.close();
  await env?.close();
});

async function createWebhook(body: Record<string, unknown>, harness = api, withKey = key) {
  return harness.app.inject({
    method: "POST",
    url: "/api/v1/webhooks",
    headers: adminHeaders(withKey),
    payload: body,
  });
}

const ALL = [
  "cluster.registered",
  "cluster.connected",
  "cluster.disconnected",
  "cluster.health_changed",
  "application.state_changed",
  "job.finished",
  "token.consumed",
];

describe("outbound webhooks", () => {
  it("shows the secret once and delivers signed events, each once", async () => {
    const receiver = await startReceiver();
    try {
      const created = await createWebhook({ url: receiver.url, events: ALL, description: "tests" });
      expect(created.statusCode, created.body).toBe(201);
      const hook = created.json() as { id: string; secret: string };
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
      receiver.state.secret = hook.secret;
      const stored = await api.deps.db.webhookEndpoint.findUniqueOrThrow({ where: { id: hook.id } });
      const listed = await api.app.inject({ url: "/api/v1/webhooks", headers: adminHeaders(key) });
      expect(listed.body).not.toContain(hook.secret);
      const one = await api.app.inject({ url: `/api/v1/webhooks/${hook.id}`, headers: adminHeaders(key) });
      expect(one.statusCode).toBe(200);
      expect(one.body).not.toContain(hook.secret);
      expect(stored.secret).toBe(hook.secret); // no SECRET_KEY in this test: stored in clear

      const { cluster } = await registeredCluster(api, key);
      // Registered again: cluster.connected.
      const { token } = await issueToken(api, key, cluster.id);
      expect((await register(api, token, cluster.id)).statusCode).toBe(200);

      await until(async () => {
        await sweepWebhooks(worker.deps);
        expect(receiver.state.received.length).toBeGreaterThanOrEqual(4);
      });
      const types = receiver.state.received.map((r) => r.type).sort();
      expect(types).toEqual(["cluster.connected", "cluster.registered", "token.consumed", "token.consumed"]);
      for (const r of receiver.state.received) expect(r.data.clusterId).toBe(cluster.id);
      expect(new Set(receiver.state.received.map((r) => r.id)).size).toBe(4);
      expect(receiver.state.invalid).toBe(0);

      // The receiver answers before the worker records the answer: wait for the log.
      let items: { id: string; status: string; messageId: string }[] = [];
      await until(async () => {
        const log = await api.app.inject({
          url: `/api/v1/webhooks/${hook.id}/deliveries`,
          headers: adminHeaders(key),
        });
        expect(log.statusCode).toBe(200);
        items = (log.json() as { items: typeof items }).items;
        expect(items).toHaveLength(4);
        expect(items.every((i) => i.status === "delivered")).toBe(true);
      });
      expect(new Set(items.map((i) => i.messageId))).toEqual(
        new Set(receiver.state.received.map((r) => r.id)),
      );

      // A manual redelivery keeps the webhook-id, so receivers dedupe it.
      const first = items[0] as { id: string; messageId: string };
      const again = await api.app.inject({
        method: "POST",
        url: `/api/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`,
        headers: adminHeaders(key),
      });
      expect(again.statusCode, again.body).toBe(202);
      await until(async () => expect(receiver.state.received.length).toBe(5));
      expect(receiver.state.received[4]?.id).toBe(first.messageId);

      const deleted = await api.app.inject({
        method: "DELETE",
        url: `/api/v1/webhooks/${hook.id}`,
        headers: adminHeaders(key),
      });
      expect(deleted.statusCode).toBe(204);
    } finally {
      await receiver.close();
    }
  });

  it("retries a failing receiver, and disables an endpoint that keeps failing, saying why", async () => {
    const receiver = await startReceiver();
    const broken = await startReceiver();
    try {
      const hook = (await createWebhook({ url: receiver.url, events: ["cluster.registered"] })).json() as {
        id: string;
        secret: string;
      };
      receiver.state.secret = hook.secret;
      receiver.state.failNext = 2;
      const dead = (await createWebhook({ url: broken.url, events: ["cluster.registered"] })).json() as {
        id: string;
        secret: string;
      };
      broken.state.secret = dead.secret;
      broken.state.alwaysFail = true;

      const { cluster } = await registeredCluster(api, key);
      await until(async () => {
        await sweepWebhooks(worker.deps);
        expect(receiver.state.received).toHaveLength(1);
      }, 15_000);
      expect(receiver.state.received[0]).toMatchObject({
        type: "cluster.registered",
        data: { clusterId: cluster.id },
      });
      expect(receiver.state.requests).toBe(3);

      await until(async () => {
        await sweepWebhooks(worker.deps);
        const view = await api.app.inject({ url: `/api/v1/webhooks/${dead.id}`, headers: adminHeaders(key) });
        expect(view.json()).toMatchObject({ disabledReason: expect.stringContaining("HTTP 503") });
      }, 15_000);
      expect(broken.state.requests).toBe(3);
      const log = await api.app.inject({
        url: `/api/v1/webhooks/${dead.id}/deliveries`,
        headers: adminHeaders(key),
      });
      expect(log.json()).toMatchObject({ items: [{ status: "failed", attempts: 3, lastStatusCode: 503 }] });
    } finally {
      await receiver.close();
      await broken.close();
    }
  });

  it("refuses loopback and private addresses without WEBHOOKS_ALLOW_PRIVATE", async () => {
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://10.1.2.3/hook",
      "http://[::1]/hook",
      "http://169.254.169.254/latest",
      "http://localhost/hook",
    ]) {
      const response = await createWebhook({ url, events: ["job.finished"] }, strictApi);
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toMatchObject({ error: "webhook_url_refused" });
    }
    const unknownField = await createWebhook(
      { url: "https://example.com/h", events: ["job.finished"], x: 1 },
      strictApi,
    );
    expect(unknownField.statusCode).toBe(400);
    const badEvent = await createWebhook({ url: "https://example.com/h", events: ["nope"] }, strictApi);
    expect(badEvent.statusCode).toBe(400);
  });

  it("needs webhooks:write, and keeps organizations apart", async () => {
    const org = await api.deps.db.organization.findFirstOrThrow();
    const { key: readOnly } = await api.deps.apiKeys.create({
      organizationId: org.id,
      name: "ro",
      scopes: ["clusters:read"],
    });
    const refused = await createWebhook(
      { url: "http://127.0.0.1:1/h", events: ["job.finished"] },
      api,
      readOnly,
    );
    expect(refused.statusCode).toBe(403);

    const hook = (await createWebhook({ url: "http://127.0.0.1:1/h", events: ["job.finished"] })).json() as {
      id: string;
    };
    const other = await api.deps.db.organization.create({ data: { slug: "other-org", name: "Other" } });
    const { key: otherKey } = await api.deps.apiKeys.create({
      organizationId: other.id,
      name: "other",
      scopes: ["webhooks:read", "webhooks:write"],
    });
    const seen = await api.app.inject({
      url: `/api/v1/webhooks/${hook.id}`,
      headers: adminHeaders(otherKey),
    });
    expect(seen.statusCode).toBe(404);
    const list = await api.app.inject({ url: "/api/v1/webhooks", headers: adminHeaders(otherKey) });
    expect(list.json()).toEqual({ items: [] });
    const gone = await api.app.inject({
      method: "DELETE",
      url: `/api/v1/webhooks/${hook.id}`,
      headers: adminHeaders(otherKey),
    });
    expect(gone.statusCode).toBe(404);
  });

  it("sends job.finished when an agent's result is accepted, and when a job is cancelled, without waiting for the sweep", async () => {
    const receiver = await startReceiver();
    try {
      const hook = (await createWebhook({ url: receiver.url, events: ["job.finished"] })).json() as {
        id: string;
        secret: string;
      };
      receiver.state.secret = hook.secret;
      const { cluster, credential } = await registeredCluster(api, key);
      const { jobId } = (await rawJob(api, key, cluster.id, "hooked")) as { jobId: string };
      let polled: { id: string }[] = [];
      await until(async () => {
        polled = await poll(api, cluster.id, credential);
        expect(polled.map((j) => j.id)).toContain(jobId);
      });
      const result = await postResult(api, jobId, credential, { outcome: "succeeded" });
      expect(result.statusCode, result.body).toBeLessThan(300);
      // The result's hint starts the fan-out: no sweep here (the sweep runs every 5 s).
      await until(async () => expect(receiver.state.received).toHaveLength(1), 4_000);
      expect(receiver.state.received[0]).toMatchObject({
        type: "job.finished",
        data: { jobId, outcome: "succeeded", clusterId: cluster.id },
      });
      // Closed without a result: cancelled by an admin.
      const { jobId: cancelledId } = (await rawJob(api, key, cluster.id, "cancelled")) as { jobId: string };
      const cancel = await api.app.inject({
        method: "POST",
        url: `/api/v1/jobs/${cancelledId}/cancel`,
        headers: adminHeaders(key),
      });
      expect(cancel.statusCode, cancel.body).toBe(200);
      await until(async () => expect(receiver.state.received).toHaveLength(2), 4_000);
      expect(receiver.state.received[1]).toMatchObject({
        type: "job.finished",
        data: { jobId: cancelledId, outcome: "cancelled", error: "cancelled by an admin" },
      });
    } finally {
      await receiver.close();
    }
  });

  it("seals the secret under SECRET_KEY and still signs with it", async () => {
    const receiver = await startReceiver();
    try {
      const sealer = credentialSealerFor({
        SECRET_KEY: randomBytes(32).toString("hex"),
        SECRET_KEY_PREVIOUS: [],
      });
      const service = createWebhooksService({
        db: api.deps.db,
        clock: api.deps.clock,
        sealer,
        allowPrivate: true,
      });
      // An organization of its own, and an event written without a fan-out hint: this service
      // instance (the only one holding the SECRET_KEY) fans it out and delivers it.
      const org = await api.deps.db.organization.create({ data: { slug: "sealed-org", name: "Sealed" } });
      const created = await service.create(org.id, { url: receiver.url, events: ["token.consumed"] });
      receiver.state.secret = created.secret;
      const stored = await api.deps.db.webhookEndpoint.findUniqueOrThrow({ where: { id: created.id } });
      expect(stored.secret).toMatch(/^vwksp-sealed:/);
      expect(stored.secret).not.toContain(created.secret.slice(6));
      await api.deps.db.outboxEvent.create({
        data: { kind: "TokenConsumed", organizationId: org.id, data: { tokenId: "t" } },
      });
      const { ids } = await service.fanOut();
      const mine = await api.deps.db.webhookDelivery.findMany({
        where: { id: { in: ids }, endpointId: created.id },
      });
      expect(mine).toHaveLength(1);
      await service.attempt((mine[0] as { id: string }).id);
      expect(receiver.state.received).toMatchObject([{ type: "token.consumed" }]);
      expect(receiver.state.invalid).toBe(0);
      await api.deps.db.webhookEndpoint.delete({ where: { id: created.id } });
    } finally {
      await receiver.close();
    }
  });

  it("refuses, at delivery, a name that resolves to a private address (DNS rebinding)", async () => {
    const receiver = await startReceiver();
    try {
      const port = new URL(receiver.url).port;
      const result = await sendWebhook({
        url: `http://localhost:${port}/hook`,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        messageId: "msg_1",
        timestamp: new Date(),
        body: "{}",
        timeoutMs: 2_000,
        allowPrivate: false,
      });
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/loopback or private address/);
      expect(receiver.state.requests).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
