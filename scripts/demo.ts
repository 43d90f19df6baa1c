// `pnpm demo`: the whole pull-mode flow on this machine, step by step, for a newcomer.
// Starts a fake Odoo, the API and the worker (separate processes, a fresh `vwksp_demo` database),
// creates a cluster identity, issues a registration token, registers and runs the reference
// agent (local backend: the "cluster" is a directory), deploys Vaultwarden from Odoo's "Deploy
// app" (a vws.application.instance record) and shows its URL arriving in Odoo. `--keep` leaves everything running until Ctrl-C.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOdooClient } from "@vwksp/odoo";
import { DEFAULT_FAKE_API_KEY } from "@vwksp/odoo-fake";
import { migrateDeploy } from "@vwksp/prisma-tool";
import pg from "pg";
import { loadConfigOrExit } from "../packages/core/src/config.ts";
import { adminClient } from "./lib/admin-client.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "./lib/processes.ts";

const keep = process.argv.includes("--keep");
const ADMIN_KEY = "vwksp-key-demo-admin-not-for-production";
const config = loadConfigOrExit("demo");
const processes: ServiceProcess[] = [];
const t0 = Date.now();
const step = (text: string) =>
  console.log(`\n[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${text}`);
const info = (text: string) => console.log(`          ${text}`);

async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function freshDatabase(): Promise<string> {
  const url = new URL(config.DATABASE_URL);
  url.pathname = "/vwksp_demo";
  const admin = new URL(config.DATABASE_URL);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  client.on("error", () => {}); // a lost connection fails the query in flight instead of the process
  await client.connect();
  await client.query('DROP DATABASE IF EXISTS "vwksp_demo" WITH (FORCE)');
  await client.end();
  await migrateDeploy(url.toString());
  return url.toString();
}

async function main() {
  step("Preparing a fresh database vwksp_demo and applying the migrations");
  const databaseUrl = await freshDatabase();

  step("Starting a fake Odoo 17 (the UI and Cluster Registry would be a real Odoo in production)");
  const odoo = startProcess("odoo", "packages/odoo-fake/src/cli.ts", ["--version", "17"], {});
  processes.push(odoo);
  const [, odooUrl = "", odooDb = ""] = await odoo.waitFor(/^fake-odoo (\S+) db=(\S+)/);
  info(`Odoo at ${odooUrl}, database ${odooDb}`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: config.REDIS_URL,
    REDIS_PREFIX: `vwksp-demo-${process.pid}`,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    ODOO_URL: odooUrl,
    ODOO_DB: odooDb,
    ODOO_LOGIN: "admin",
    ODOO_API_KEY: DEFAULT_FAKE_API_KEY,
    ODOO_SYNC_INTERVAL_SECONDS: "5",
  };
  step("Starting the control plane: API and worker");
  processes.push(startProcess("api", "apps/api/src/server.ts", [], env));
  processes.push(startProcess("worker", "apps/worker/src/main.ts", [], env));
  await waitForHttp(`${base}/readyz`);
  info(`API ready at ${base} (docs at ${base}/docs); admin key ${ADMIN_KEY}`);

  const request = adminClient(base, ADMIN_KEY);
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await request<T>(method, path, body);
    if (answer.status >= 400)
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  step("Step 3 — an admin creates the cluster identity (POST /api/v1/clusters)");
  const cluster = await admin<{ id: string; slug: string; status: string }>("POST", "/api/v1/clusters", {
    displayName: "Demo cluster",
  });
  info(`cluster ${cluster.id} (slug ${cluster.slug}) is ${cluster.status}`);
  const token = await admin<{ token: string; expiresAt: string }>(
    "POST",
    `/api/v1/clusters/${cluster.id}/registration-tokens`,
    {},
  );
  info(`one-time registration token issued, valid until ${token.expiresAt} (shown once, stored hashed)`);

  step("Step 4 — the operator registers: vwksp-agent register");
  const dir = await mkdtemp(join(tmpdir(), "vwksp-demo-"));
  const credentials = join(dir, "credentials.json");
  const register = startProcess(
    "register",
    "packages/agent/bin/vwksp-agent.mjs",
    [
      "register",
      "--control-plane-endpoint",
      base,
      "--cluster-id",
      cluster.id,
      "--credentials-file",
      credentials,
    ],
    { VWKSP_REGISTRATION_TOKEN: token.token },
  );
  if ((await register.exited) !== 0) throw new Error(`register failed:\n${register.text()}`);
  for (const line of register.output) info(`agent> ${line}`);

  step("Step 5 — the agent runs: long-polls for jobs, posts heartbeats and events");
  const agent = startProcess(
    "agent",
    "packages/agent/bin/vwksp-agent.mjs",
    [
      "run",
      "--credentials-file",
      credentials,
      "--backend",
      "local",
      "--state-dir",
      join(dir, "cluster"),
      "--heartbeat-interval",
      "2s",
    ],
    {},
  );
  processes.push(agent);
  const health = await until("the first heartbeat", async () => {
    const current = await admin<{ status: string; versions: { operator: string | null } }>(
      "GET",
      `/api/v1/clusters/${cluster.id}/health`,
    );
    return current.versions.operator ? current : undefined;
  });
  info(`cluster is ${health.status}, operator ${health.versions.operator}`);

  const client = createOdooClient({ url: odooUrl, db: odooDb, login: "admin", apiKey: DEFAULT_FAKE_API_KEY });
  step("Odoo's Cluster Registry, as the Odoo UI would show it");
  const record = await until("the Odoo record", async () => {
    const [row] = await client.searchRead("vws.cluster", [["cluster_id", "=", cluster.id]], { limit: 1 });
    return row?.state === "connected" && row.operator_version ? row : undefined;
  });
  info(
    `vws.cluster #${record.id}: ${record.name} — state ${record.state}, operator ${record.operator_version}, last heartbeat ${record.last_heartbeat} UTC`,
  );
  const catalog = await until("the catalog in Odoo", async () => {
    const rows = await client.searchRead("vws.catalog.entry", [], { fields: ["code"] });
    return rows.length > 0 ? rows : undefined;
  });
  info(`vws.catalog.entry: ${catalog.map((row) => row.code).join(", ")} (what the Deploy app form offers)`);

  step('Step 6 — in Odoo, Workspace Hub → Apps → "Deploy app": Vaultwarden into org-demo');
  const appRecordId = await client.create("vws.application.instance", {
    name: "vaultwarden",
    namespace: "org-demo",
    catalog_entry: "vaultwarden",
    hostname: "vault.demo.local",
    cluster_id: record.id as number,
  });
  info(`vws.application.instance #${appRecordId} created; the bridge's next pull takes it`);
  const appFields = ["instance_id", "state", "state_reason", "url", "last_job_id", "ready_since"];
  const requested = await until("the Deploy app request to be taken", async () => {
    const [row] = await client.read("vws.application.instance", [appRecordId], { fields: appFields });
    return row?.instance_id ? row : undefined;
  });
  info(
    `instance_id ${requested.instance_id} written back; job ${requested.last_job_id} queued for the agent`,
  );
  const jobId = String(requested.last_job_id);
  const job = await until("the job's result", async () => {
    const current = await admin<{ state: string; appliedRef: { uid?: string } | null }>(
      "GET",
      `/api/v1/jobs/${jobId}`,
    );
    return ["succeeded", "failed", "noop", "conflict"].includes(current.state) ? current : undefined;
  });
  info(`job ${job.state}; ApplicationInstance uid ${job.appliedRef?.uid ?? "?"}`);
  const deployed = await until("the URL in Odoo", async () => {
    const [row] = await client.read("vws.application.instance", [appRecordId], { fields: appFields });
    return row?.url ? row : undefined;
  });
  info(`ApplicationInstance org-demo/vaultwarden is Ready=True; files under ${join(dir, "cluster")}`);
  info(
    `vws.application.instance #${appRecordId}: state ${deployed.state}, URL ${deployed.url}, ready since ${deployed.ready_since} UTC`,
  );
  const messages = await client.searchRead(
    "mail.message",
    [
      ["model", "=", "vws.cluster"],
      ["res_id", "=", record.id],
    ],
    { fields: ["body"], order: "id asc" },
  );
  for (const message of messages) info(`chatter of ${record.name}: ${String(message.body)}`);

  step(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
  if (keep) {
    info(`Everything keeps running (API ${base}, admin key ${ADMIN_KEY}); Ctrl-C stops it.`);
    await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  }
}

main()
  .catch((error: unknown) => {
    console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
    for (const service of processes)
      console.error(`--- last lines of ${service.name}:\n${service.output.slice(-10).join("\n")}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(processes.map((service) => service.stop("SIGTERM")));
  });
