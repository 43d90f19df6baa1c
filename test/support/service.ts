import pg from "pg";
import { adminClient } from "../../scripts/lib/admin-client.ts";
import { agentHeaders } from "./agent.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "./processes.ts";
import { createTestRedisPrefix } from "./redis.ts";

const ADMIN_KEY = "vwksp-key-service-processes-0123456789";

/**
 * The API and the worker as real processes, on a database and a Redis prefix of their own, for
 * tests that kill them or cut their dependencies. Talks to them over HTTP only.
 */
export async function startServiceProcesses(
  env: Record<string, string> = {},
  options: { databaseVia?: number; redisVia?: number } = {},
) {
  const db: TestDatabase = await createTestDatabase();
  // The processes may reach PostgreSQL and Redis through proxies (a test that cuts them); tests
  // read them directly.
  const databaseUrl = new URL(db.url);
  if (options.databaseVia) databaseUrl.port = String(options.databaseVia);
  const redis = createTestRedisPrefix();
  const redisUrl = new URL(redis.url);
  if (options.redisVia) redisUrl.port = String(options.redisVia);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const processEnv = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: redisUrl.toString(),
    REDIS_PREFIX: redis.prefix,
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    ...env,
  };
  const started: ServiceProcess[] = [];

  function start(name: "api" | "worker") {
    const entry = name === "api" ? "apps/api/src/server.ts" : "apps/worker/src/main.ts";
    const process = startProcess(name, entry, [], processEnv);
    started.push(process);
    return process;
  }

  const admin = adminClient(base, ADMIN_KEY);

  /**
   * An admin call that must succeed; a 503 (a process still warming up on a loaded machine) is
   * retried after its Retry-After, as any client of the service would.
   */
  async function adminOk<T>(method: string, path: string, body?: unknown) {
    for (let attempt = 1; ; attempt++) {
      const answer = await admin<T>(method, path, body);
      if (answer.status < 300) return answer.body;
      if (answer.status !== 503 || attempt === 5)
        throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  /** A cluster identity, registered with the Go operator's request: its id and agent credential. */
  async function registeredCluster(displayName: string) {
    const cluster = await adminOk<{ id: string }>("POST", "/api/v1/clusters", { displayName });
    const issued = await adminOk<{ token: string }>(
      "POST",
      `/api/v1/clusters/${cluster.id}/registration-tokens`,
    );
    const response = await fetch(`${base}/api/agent/register`, {
      method: "POST",
      headers: agentHeaders(issued.token),
      body: JSON.stringify({ registrationToken: issued.token }),
    });
    if (response.status !== 200)
      throw new Error(`register answered ${response.status}: ${await response.text()}`);
    const { token } = (await response.json()) as { token: string };
    return { clusterId: cluster.id, credential: token };
  }

  /** Starts API and worker and waits until both are up. */
  async function startBoth() {
    const api = start("api");
    const worker = start("worker");
    await waitForHttp(`${base}/readyz`);
    await worker.waitFor(/worker started/);
    return { api, worker };
  }

  /** How many of the database's jobs are in each state, read directly (not through the service). */
  async function jobStates(): Promise<Record<string, number>> {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => {}); // tests end sessions on this database: fail the query, not the run
    await client.connect();
    try {
      const { rows } = await client.query<{ state: string; n: number }>(
        `SELECT state::text AS state, count(*)::int AS n FROM "Job" GROUP BY state`,
      );
      return Object.fromEntries(rows.map((row) => [row.state, row.n]));
    } finally {
      await client.end();
    }
  }

  async function stop() {
    await Promise.all(started.map((process) => process.stop("SIGTERM")));
    await redis.cleanup();
    await db.drop();
  }

  return {
    db,
    base,
    env: processEnv,
    adminKey: ADMIN_KEY,
    start,
    startBoth,
    admin,
    registeredCluster,
    jobStates,
    stop,
  };
}

export type ServiceProcesses = Awaited<ReturnType<typeof startServiceProcesses>>;
