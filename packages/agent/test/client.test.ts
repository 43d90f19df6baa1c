import { afterEach, describe, expect, it } from "vitest";
import { createAgentClient } from "../src/client/agent-client.ts";
import { exchangeRegistrationToken } from "../src/client/register.ts";
import { AgentApiError, ProtocolError, TransportError } from "../src/errors.ts";
import {
  envelope,
  type FakeControlPlane,
  type Handler,
  startFakeControlPlane,
} from "./support/fake-control-plane.ts";
import { CLUSTER_ID } from "./support/jobs.ts";

const MEDIA = "application/vnd.vworkspace.agent.v1+json";
const TOKEN = `vwksp-agt-${"1".repeat(64)}`;
let server: FakeControlPlane | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(handler: Handler) {
  server = await startFakeControlPlane(handler);
  return createAgentClient({ baseUrl: `${server.url}/`, clusterId: CLUSTER_ID, token: () => TOKEN });
}

const job = {
  id: "j-1",
  kind: "apply",
  payload: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } },
  idempotencyKey: "configmap/_/x@1",
  createdAt: "2026-11-27T08:00:00.000Z",
  expiresAt: "2026-11-27T08:15:00.000Z",
  futureField: "ignored",
};

describe("the agent's HTTP, exactly as the Go client's", () => {
  it("sends Bearer and Accept always, Content-Type only with a body; ack has none, rotate sends {}", async () => {
    const client = await clientFor((request) => {
      if (request.path === "/api/agent/jobs") return { status: 200, json: { jobs: [job] } };
      if (request.path === "/api/agent/credentials/rotate") return { status: 200, json: { token: "new" } };
      return { status: 204 };
    });
    const polled = await client.pollJobs(25);
    expect(polled.jobs).toEqual(
      [{ ...job, futureField: undefined }].map(({ futureField: _, ...rest }) => rest),
    );
    expect(await client.ack("j-1")).toBe("acked");
    await client.status("j-1", { phase: "Applying", timestamp: "2026-11-27T08:00:01.000Z" });
    expect(await client.result("j-1", { outcome: "succeeded", timestamp: "2026-11-27T08:00:02.000Z" })).toBe(
      "recorded",
    );
    await client.postEvents([]);
    expect(await client.rotate()).toEqual({ token: "new" });

    const seen = server?.requests ?? [];
    expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      "GET /api/agent/jobs",
      "POST /api/agent/jobs/j-1/ack",
      "POST /api/agent/jobs/j-1/status",
      "POST /api/agent/jobs/j-1/result",
      "POST /api/agent/events",
      "POST /api/agent/credentials/rotate",
    ]);
    expect(Object.fromEntries(seen[0]?.query ?? [])).toEqual({ cluster: CLUSTER_ID, wait: "25" });
    for (const request of seen) {
      expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(request.headers.accept).toBe(MEDIA);
      const hasBody = !["GET", "POST /api/agent/jobs/j-1/ack"].some((prefix) =>
        `${request.method} ${request.path}`.startsWith(prefix),
      );
      expect(request.headers["content-type"], request.path).toBe(hasBody ? MEDIA : undefined);
      expect(request.body.length > 0, request.path).toBe(hasBody);
    }
    expect(seen[5]?.body).toBe("{}");
    expect(JSON.parse(seen[4]?.body ?? "")).toEqual({ events: [] });
  });

  it("maps 409 to done: a closed job on ack, a recorded result on result", async () => {
    const client = await clientFor(() => envelope(409, "conflict", "job is closed"));
    expect(await client.ack("j-1")).toBe("closed");
    expect(await client.result("j-1", { outcome: "noop" })).toBe("duplicate");
  });

  it("carries the server's envelope, status and Retry-After in typed errors", async () => {
    const client = await clientFor((request) =>
      request.path.endsWith("/ack")
        ? envelope(429, "rate_limited", "slow down", { "retry-after": "7" })
        : envelope(403, "cluster_mismatch", "the cluster query parameter does not match"),
    );
    const forbidden = await client.pollJobs(0).catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(AgentApiError);
    expect(forbidden).toMatchObject({
      status: 403,
      code: "cluster_mismatch",
      serverMessage: "the cluster query parameter does not match",
      requestId: "rq-403",
    });
    const limited = await client.ack("j-1").catch((error: unknown) => error);
    expect(limited).toMatchObject({ status: 429, retryAfterMs: 7_000 });
  });

  it("treats an HTML error page as an error with the HTTP status text", async () => {
    const client = await clientFor(() => ({ status: 502, text: "<html>bad gateway</html>" }));
    await expect(client.pollJobs(0)).rejects.toMatchObject({
      status: 502,
      code: "http_error",
      serverMessage: "Bad Gateway",
    });
  });

  it("refuses any other 2xx than the contract's, and answers that break the schema", async () => {
    const client = await clientFor((request) =>
      request.path.endsWith("/ack") ? { status: 200, json: {} } : { status: 200, json: { nope: true } },
    );
    await expect(client.ack("j-1")).rejects.toBeInstanceOf(ProtocolError);
    await expect(client.pollJobs(0)).rejects.toBeInstanceOf(ProtocolError);
    await expect(client.rotate()).rejects.toBeInstanceOf(ProtocolError);
  });

  it("keeps the valid jobs of a batch and returns the malformed ones by id, to be failed", async () => {
    const client = await clientFor(() => ({
      status: 200,
      json: { jobs: [job, { ...job, id: "j-2", kind: "teleport" }, { kind: "apply" }] },
    }));
    const polled = await client.pollJobs(0);
    expect(polled.jobs.map((item) => item.id)).toEqual(["j-1"]);
    expect(polled.rejected).toEqual([{ id: "j-2", problem: expect.stringContaining("kind") }]);
  });

  it("reports an unreachable control plane as a TransportError, and a caller's abort as an abort", async () => {
    const closed = await startFakeControlPlane(() => ({ status: 204 }));
    await closed.close();
    const client = createAgentClient({
      baseUrl: closed.url,
      clusterId: CLUSTER_ID,
      token: () => TOKEN,
    });
    const refused = await client.pollJobs(0).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TransportError);
    expect((refused as Error).message).toContain("ECONNREFUSED");

    const waiting = await clientFor(() => "hold");
    const abort = new AbortController();
    const polling = waiting.pollJobs(30, abort.signal).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    abort.abort();
    expect(((await polling) as Error).name).toBe("AbortError");
  });
});

describe("registration exchange", () => {
  const registrationToken = `vwksp-reg-${"0".repeat(64)}`;

  it("sends the token in the header and the body, and needs clusterId and token back", async () => {
    server = await startFakeControlPlane(() => ({
      status: 200,
      json: { clusterId: CLUSTER_ID, token: TOKEN, extra: 1 },
    }));
    const answer = await exchangeRegistrationToken({
      baseUrl: server.url,
      registrationToken,
      clusterId: CLUSTER_ID,
    });
    expect(answer).toEqual({ clusterId: CLUSTER_ID, token: TOKEN });
    const [request] = server.requests;
    expect(request?.headers).toMatchObject({
      authorization: `Bearer ${registrationToken}`,
      "content-type": MEDIA,
      accept: MEDIA,
    });
    expect(JSON.parse(request?.body ?? "")).toEqual({ registrationToken, clusterId: CLUSTER_ID });
  });

  it("fails when the answer misses the credential", async () => {
    server = await startFakeControlPlane(() => ({
      status: 200,
      json: { clusterId: CLUSTER_ID, token: " " },
    }));
    await expect(
      exchangeRegistrationToken({ baseUrl: server.url, registrationToken }),
    ).rejects.toBeInstanceOf(ProtocolError);
  });
});
