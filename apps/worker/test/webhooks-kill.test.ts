import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// API and worker as real processes, each killed with SIGKILL while registrations produce events
// and deliveries are in flight. A receiver verifying with the standardwebhooks library (and
// deduplicating by webhook-id, as the specification asks of receivers) must see every event once:
// none missing, none without an outbox row behind it.
const CLUSTERS = 8;

let service: ServiceProcesses;
const secretHolder = { secret: "" };
const seen = new Map<string, { type: string; clusterId: string }>();
let invalid = 0;
let receiver: http.Server;
let receiverUrl: string;

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: service.db.url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      // Slow on purpose: a kill finds deliveries in flight.
      setTimeout(() => {
        try {
          const body = new Webhook(secretHolder.secret).verify(Buffer.concat(chunks).toString("utf8"), {
            "webhook-id": String(request.headers["webhook-id"]),
            "webhook-timestamp": String(request.headers["webhook-timestamp"]),
            "webhook-signature": String(request.headers["webhook-signature"]),
          }) as { type: string; data: { clusterId: string } };
          seen.set(String(request.headers["webhook-id"]), {
            type: body.type,
            clusterId: body.data.clusterId,
          });
          response.writeHead(200).end("ok");
        } catch {
          invalid += 1;
          response.writeHead(400).end();
        }
      }, 100);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  service = await startServiceProcesses({ WEBHOOKS_ALLOW_PRIVATE: "true" });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
}, 60_000);

describe("webhooks across SIGKILL", () => {
  it("delivers every event exactly once (by webhook-id) when the worker and the API are killed", async () => {
    let { api, worker } = await service.startBoth();
    const created = await service.admin<{ id: string; secret: string }>("POST", "/api/v1/webhooks", {
      url: receiverUrl,
      events: ["cluster.registered", "token.consumed"],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    secretHolder.secret = created.body.secret;

    const clusters: string[] = [];
    for (let i = 0; i < CLUSTERS; i++) {
      if (i === 3) {
        // Deliveries of the first clusters are in flight (the receiver answers after 100 ms).
        await until(async () => seen.size > 0, 30_000);
        expect(await worker.stop("SIGKILL")).toBe("SIGKILL");
      }
      if (i === 5) {
        expect(await api.stop("SIGKILL")).toBe("SIGKILL");
        api = service.start("api");
        await waitForHttp(`${service.base}/readyz`);
      }
      clusters.push((await service.registeredCluster(`hook ${i}`)).clusterId);
    }
    worker = service.start("worker");
    await worker.waitFor(/worker started/);

    const expected = CLUSTERS * 2;
    // A delivery held by the killed worker is taken again once its claim is stale (30 s).
    // A delivery the receiver took but the dead worker never marked is sent again, with the same
    // webhook-id: the receiver dedupes it.
    await until(async () => {
      const [row] = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "WebhookDelivery" WHERE status = 'delivered'`,
      );
      return seen.size >= expected && row?.n === expected;
    }, 120_000).catch(() => {});
    const [outbox] = await query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "OutboxEvent" WHERE kind IN ('ClusterConnected', 'TokenConsumed')`,
    );
    expect(outbox?.n).toBe(expected);
    const deliveries = await query<{ messageId: string; status: string; outboxEventId: string }>(
      `SELECT "messageId", status, "outboxEventId"::text AS "outboxEventId" FROM "WebhookDelivery"`,
    );
    expect(deliveries).toHaveLength(expected);
    expect(new Set(deliveries.map((d) => d.outboxEventId)).size).toBe(expected);
    expect(deliveries.every((d) => d.status === "delivered")).toBe(true);
    expect(new Set(seen.keys())).toEqual(new Set(deliveries.map((d) => d.messageId)));
    expect(invalid).toBe(0);
    for (const clusterId of clusters) {
      const types = [...seen.values()].filter((v) => v.clusterId === clusterId).map((v) => v.type);
      expect(types.sort()).toEqual(["cluster.registered", "token.consumed"]);
    }
  }, 200_000);
});
