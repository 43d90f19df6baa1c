import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";

// What the API process says at start: the initial admin key on a deployment's first start (once,
// never logged again), and PostgreSQL or Redis being unreachable (at once, not when /readyz is asked).

let db: TestDatabase;
const redis = createTestRedisPrefix();
const running: ServiceProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
  await redis.cleanup();
  await db?.drop();
});

async function startApi(env: Record<string, string>) {
  const port = await freePort();
  const api = startProcess("api", "apps/api/src/server.ts", [], {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "info",
    ...env,
  });
  running.push(api);
  return { api, base: `http://127.0.0.1:${port}` };
}

const KEY = /vwksp-key-[0-9a-f]{48}/g;

describe("the API's start", () => {
  it("prints a generated admin key once on the first start without BOOTSTRAP_ADMIN_KEY, and never again", async () => {
    const first = await startApi({});
    await waitForHttp(`${first.base}/readyz`);
    await first.api.waitFor(/generated the initial admin API key/);
    const printed = first.api.text().match(KEY) ?? [];
    expect(printed).toHaveLength(1);
    const key = printed[0] ?? "";
    // Shown in the banner only: no log line (JSON) carries it.
    const logLines = first.api.output.filter((line) => line.startsWith("{"));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("\n")).not.toContain(key.slice(10));

    const me = await fetch(`${first.base}/api/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { scopes: string[] }).scopes).toEqual(["*"]);
    await first.api.stop();

    const second = await startApi({});
    await waitForHttp(`${second.base}/readyz`);
    await second.api.waitFor(/Server listening/);
    expect(second.api.text()).not.toMatch(KEY);
    expect(second.api.text()).not.toContain("initial admin API key");
    await second.api.stop();
  });

  it("says at once which dependency is unreachable, where and why, without its password, and serves 503", async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const { api, base } = await startApi({
      DATABASE_URL: `postgresql://postgres:pg-secret@127.0.0.1:${pgPort}/vwksp`,
      REDIS_URL: `redis://:redis-secret@127.0.0.1:${redisPort}`,
    });
    const postgres = await api.waitFor(/Cannot connect to PostgreSQL at [^"]*/);
    expect(postgres[0]).toBe(
      `Cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:${pgPort}/vwksp (connect ECONNREFUSED 127.0.0.1:${pgPort}). Is the server running and DATABASE_URL right? Requests that need it answer 503 until it is back.`,
    );
    const redisLine = await api.waitFor(/Redis is unreachable at [^"]*/);
    expect(redisLine[0]).toContain(
      `Redis is unreachable at redis://127.0.0.1:${redisPort} (connect ECONNREFUSED`,
    );
    expect(api.text()).not.toMatch(/pg-secret|redis-secret/);

    await waitForHttp(`${base}/healthz`);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
  });
});
