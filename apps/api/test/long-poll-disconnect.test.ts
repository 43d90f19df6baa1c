import { connect, type Socket } from "node:net";
import { AGENT_MEDIA_TYPE, type AgentJob } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, eventually, rawJob, registeredCluster } from "../../../test/support/fixtures.ts";
import { createTestWorker } from "../../../test/support/worker.ts";
import { buildApp } from "../src/app.ts";
import { createApiDeps } from "../src/deps.ts";

// Agents whose connection dies while they wait: a job leased to such a poll must go back to
// `ready` at once — not sit leased, unseen, until its lease (60 s) runs out. The app listens on a
// real socket, so a client's reset reaches it as it would from the network.
let env: TestEnv;
let harness: { app: Awaited<ReturnType<typeof buildApp>>; deps: ReturnType<typeof createApiDeps> };
let worker: ReturnType<typeof createTestWorker>;
let key: string;
let port: number;
/** Runs as soon as a claim for a waiting poll returned, before its answer is written. */
let afterClaim: (jobs: AgentJob[]) => void = () => {};
/** Makes credential checks take this long (a PostgreSQL under load). */
let authenticationDelayMs = 0;

beforeAll(async () => {
  env = await createTestEnv();
  const deps = createApiDeps(env.config());
  const authenticate = deps.credentials.authenticate;
  deps.credentials.authenticate = async (token) => {
    const principal = await authenticate(token);
    if (authenticationDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, authenticationDelayMs));
    return principal;
  };
  const claim = deps.delivery.claim;
  deps.delivery.claim = async (clusterId) => {
    const jobs = await claim(clusterId);
    afterClaim(jobs);
    return jobs;
  };
  const app = await buildApp(deps, { longPollRecheckMs: 200 });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as { port: number }).port;
  harness = { app, deps };
  worker = createTestWorker({ env });
  key = await adminKey(harness as never);
});

afterAll(async () => {
  await worker?.close();
  await harness?.app.close();
  await harness?.deps.close();
  await env?.close();
});

/** A poll as the Go operator sends it, on a connection of its own. */
function rawPoll(clusterId: string, credential: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        `GET /api/agent/jobs?cluster=${clusterId}&wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: Bearer ${credential}\r\nAccept: ${AGENT_MEDIA_TYPE}\r\n\r\n`,
      );
      resolve(socket);
    });
    socket.on("error", () => {});
  });
}

const jobState = async (jobId: string) =>
  (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).state;

describe("a waiting poll whose client goes away", () => {
  it("puts jobs back at once when the client left while they were being leased to it", async () => {
    const { cluster, credential } = await registeredCluster(harness as never, key);
    const socket = await rawPoll(cluster.id, credential);
    await eventually(async () => harness.app.longPollStats().waiters === 1);
    // Jobs go out only on a credential that still works, checked once more after the wait; the
    // client's close arrives during that check. Nobody is left to take the answer, and nothing
    // else would tell the job's lease.
    afterClaim = (jobs) => {
      if (jobs.length === 0) return;
      authenticationDelayMs = 300;
      socket.destroy();
    };
    const { jobId } = await rawJob(harness as never, key, cluster.id, "left-while-leased");
    await eventually(
      async () => (await harness.deps.db.job.findUniqueOrThrow({ where: { id: jobId } })).deliveries > 0,
    );
    afterClaim = () => {};
    authenticationDelayMs = 0;
    await eventually(async () => (await jobState(jobId)) === "ready", 3_000);
  });

  it("stops waiting when the client closes, so later jobs wait for the next poll", async () => {
    const { cluster, credential } = await registeredCluster(harness as never, key);
    const socket = await rawPoll(cluster.id, credential);
    await eventually(async () => harness.app.longPollStats().waiters === 1);
    socket.destroy();
    await eventually(async () => harness.app.longPollStats().waiters === 0, 2_000);
    const { jobId } = await rawJob(harness as never, key, cluster.id, "after-close");
    await eventually(async () => (await jobState(jobId)) === "ready");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobState(jobId)).toBe("ready");
  });
});
