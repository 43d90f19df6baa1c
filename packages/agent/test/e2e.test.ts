import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOdooClient } from "@vwksp/odoo";
import { DEFAULT_FAKE_API_KEY } from "@vwksp/odoo-fake";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// The whole procedure with every part a process of its own: API, worker, a fake Odoo and the
// agent CLI. Steps 3–6 of the bootstrap procedure, then a crashed agent and a restarted service.
const AGENT_BIN = "packages/agent/bin/vwksp-agent.mjs";
const TERMINAL = ["succeeded", "failed", "noop", "conflict", "expired", "cancelled", "undeliverable"];

let service: ServiceProcesses;
let dir: string;
let base: string;
let odoo: ServiceProcess;
let api: ServiceProcess;
let agent: ServiceProcess | undefined;
let odooUrl: string;
let odooDb: string;
const processes: ServiceProcess[] = [];

const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
  service.admin<T>(method, path, body);

function track(process: ServiceProcess) {
  processes.push(process);
  return process;
}

const startApi = () => service.start("api");

function startAgent(credentials: string, extra: string[] = []) {
  return track(
    startProcess(
      "agent",
      AGENT_BIN,
      [
        "run",
        "--credentials-file",
        credentials,
        "--backend",
        "local",
        "--state-dir",
        join(dir, "cluster"),
        "--wait",
        "5",
        "--heartbeat-interval",
        "1s",
        "--local-ready-after",
        "500ms",
        "--cluster-name",
        "cluster-prod-1",
        ...extra,
      ],
      {},
    ),
  );
}

async function jobState(jobId: string) {
  return (await admin<{ state: string }>("GET", `/api/v1/jobs/${jobId}`)).body.state;
}

async function odooRecord(clusterId: string) {
  const client = createOdooClient({ url: odooUrl, db: odooDb, login: "admin", apiKey: DEFAULT_FAKE_API_KEY });
  const [record] = await client.searchRead("vws.cluster", [["cluster_id", "=", clusterId]], { limit: 1 });
  return record;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vwksp-e2e-"));
  odoo = track(startProcess("odoo", "packages/odoo-fake/src/cli.ts", ["--version", "17"], {}));
  const match = await odoo.waitFor(/^fake-odoo (\S+) db=(\S+)/);
  odooUrl = match[1] as string;
  odooDb = match[2] as string;
  service = await startServiceProcesses({
    ODOO_URL: odooUrl,
    ODOO_DB: odooDb,
    ODOO_LOGIN: "admin",
    ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
    ODOO_SYNC_INTERVAL_SECONDS: "2",
    // Short timeouts so a crashed agent's job comes back within the test.
    AGENT_LEASE_SECONDS: "4",
    JOB_ACK_TIMEOUT_SECONDS: "4",
  });
  base = service.base;
  ({ api } = await service.startBoth());
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop("SIGTERM")));
  await rm(dir, { recursive: true, force: true });
  await service?.stop();
}, 60_000);

describe("bootstrap procedure end to end", () => {
  let clusterId: string;
  let credentials: string;

  it("registers, connects, deploys Vaultwarden and sees it Ready here and in Odoo", async () => {
    const created = await admin<{ id: string }>("POST", "/api/v1/clusters", {
      displayName: "E2E cluster",
      allowedNamespaces: ["org-*"],
    });
    expect(created.status).toBe(201);
    clusterId = created.body.id;
    const issued = await admin<{ token: string }>(
      "POST",
      `/api/v1/clusters/${clusterId}/registration-tokens`,
      { ttlSeconds: 600 },
    );
    expect(issued.status).toBe(201);

    credentials = join(dir, "credentials.json");
    const started = Date.now();
    const register = track(
      startProcess(
        "register",
        AGENT_BIN,
        [
          "register",
          "--control-plane-endpoint",
          base,
          "--token",
          issued.body.token,
          "--cluster-id",
          clusterId,
          "--credentials-file",
          credentials,
        ],
        {},
      ),
    );
    expect(await register.exited).toBe(0);
    expect(register.output).toEqual([
      `registering cluster ${clusterId} with ${base} ...`,
      "exchanged registration token for bootstrap credential",
      `credential persisted to ${credentials}`,
      `Cluster ${clusterId} condition Connected=True (ControlPlaneReachable)`,
    ]);
    expect(register.text()).not.toContain(issued.body.token);
    expect(JSON.parse(await readFile(credentials, "utf8"))).toMatchObject({ baseUrl: base, clusterId });

    agent = startAgent(credentials);
    const deploy = await admin<{ jobId: string }>("POST", `/api/v1/clusters/${clusterId}/applications`, {
      catalogId: "vaultwarden",
      namespace: "org-demo",
      name: "vaultwarden",
      hostname: "vault.demo.example",
    });
    expect(deploy.status).toBe(202);
    expect(
      await eventually(
        async () => ((await jobState(deploy.body.jobId)) === "succeeded" ? "ok" : undefined),
        20_000,
      ),
    ).toBe("ok");
    const ready = await eventually(async () => {
      const resources = await admin<{ items: { kind: string; name: string; ready: boolean }[] }>(
        "GET",
        `/api/v1/clusters/${clusterId}/resources`,
      );
      return resources.body.items.find(
        (item) => item.kind === "ApplicationInstance" && item.name === "vaultwarden" && item.ready,
      );
    }, 20_000);
    expect(ready).toBeTruthy();
    const registerToReadyMs = Date.now() - started;
    console.log(`e2e: register → Ready=True in ${registerToReadyMs} ms`);
    await eventually(
      async () =>
        (
          await admin<{ status: string; versions: { operator: string | null } }>(
            "GET",
            `/api/v1/clusters/${clusterId}/health`,
          )
        ).body.versions.operator,
      15_000,
    );
    expect((await admin<{ status: string }>("GET", `/api/v1/clusters/${clusterId}/health`)).body.status).toBe(
      "connected",
    );
    // The agent reports its own conditions about a Cluster named like the operator's CR.
    const health = await eventually(async () => {
      const view = await admin<{
        clusterResource: { name: string; namespace: string } | null;
        conditions: { type: string; status: string; reason: string }[];
        healthMessage: string | null;
      }>("GET", `/api/v1/clusters/${clusterId}/health`);
      return view.body.conditions.some((condition) => condition.type === "Authenticated")
        ? view.body
        : undefined;
    }, 15_000);
    expect(health.clusterResource).toMatchObject({ name: "cluster-prod-1", namespace: "vworkspace-system" });
    expect(health.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Connected", status: "True", reason: "RoundTripOK" }),
        expect.objectContaining({ type: "Disconnected", status: "False" }),
        expect.objectContaining({ type: "Authenticated", status: "True", reason: "CredentialAccepted" }),
      ]),
    );
    expect(health.healthMessage).toBeNull();
    const connectedInOdoo = await eventually(async () => {
      const record = await odooRecord(clusterId);
      return record?.state === "connected" && record.operator_version ? record : undefined;
    }, 15_000);
    expect(connectedInOdoo).toMatchObject({ name: "E2E cluster", state: "connected" });

    const applications = await admin<{ items: { name: string; state: string }[] }>(
      "GET",
      `/api/v1/clusters/${clusterId}/applications`,
    );
    expect(applications.body.items).toEqual([
      expect.objectContaining({ name: "vaultwarden", state: "deployed" }),
    ]);
    const stored = JSON.parse(
      await readFile(join(dir, "cluster", "org-demo", "ApplicationInstance", "vaultwarden.json"), "utf8"),
    );
    expect(stored.spec.integrations.ingress).toEqual({ enabled: true, host: "vault.demo.example" });

    const odooNow = await eventually(async () => {
      const record = await odooRecord(clusterId);
      return record?.last_heartbeat ? record : undefined;
    }, 15_000);
    expect(odooNow).toMatchObject({ state: "connected", operator_version: expect.any(String) });
  }, 120_000);

  it("finishes a job whose agent was killed with SIGKILL in the middle of it", async () => {
    await agent?.stop("SIGTERM");
    const slow = startAgent(credentials, ["--local-apply-delay", "6s"]);
    const deploy = await admin<{ jobId: string }>("POST", `/api/v1/clusters/${clusterId}/applications`, {
      catalogId: "gitea",
      namespace: "org-demo",
      name: "gitea",
    });
    expect(deploy.status).toBe(202);
    await eventually(
      async () => ((await jobState(deploy.body.jobId)) === "acked" ? "acked" : undefined),
      20_000,
    );
    expect(await slow.stop("SIGKILL")).toBe("SIGKILL");

    agent = startAgent(credentials);
    const final = await eventually(async () => {
      const state = await jobState(deploy.body.jobId);
      return TERMINAL.includes(state) ? state : undefined;
    }, 30_000);
    expect(["succeeded", "noop"]).toContain(final);
    const job = await admin<{ deliveries: number }>("GET", `/api/v1/jobs/${deploy.body.jobId}`);
    expect(job.body.deliveries).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it("reconnects by itself when the service restarts during a long-poll", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await api.stop("SIGTERM")).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    api = startApi();
    await waitForHttp(`${base}/readyz`);
    const deploy = await admin<{ jobId: string }>("POST", `/api/v1/clusters/${clusterId}/applications`, {
      catalogId: "n8n",
      namespace: "org-demo",
      name: "n8n",
    });
    expect(deploy.status).toBe(202);
    expect(
      await eventually(
        async () => ((await jobState(deploy.body.jobId)) === "succeeded" ? "ok" : undefined),
        60_000,
      ),
    ).toBe("ok");
    expect(agent?.child.exitCode).toBeNull();
  }, 90_000);
});
