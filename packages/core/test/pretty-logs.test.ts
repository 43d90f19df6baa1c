import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { freePort, type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { createTestRedisPrefix } from "../../../test/support/redis.ts";

// `pnpm dev` prints pretty, human lines (pino-pretty); production keeps JSON. Pretty lines are
// redacted like JSON ones.

let db: TestDatabase;
const redis = createTestRedisPrefix();
let dev: ServiceProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await dev?.stop("SIGTERM", 20_000);
  await redis.cleanup();
  await db?.drop();
});

describe("log format", () => {
  it("pnpm dev (start --watch) logs pretty lines for API and worker, secrets still redacted", async () => {
    const port = await freePort();
    dev = startProcess("dev", "scripts/start.ts", ["--watch"], {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      HOST: "127.0.0.1",
      PORT: String(port),
      BOOTSTRAP_ADMIN_KEY: "vwksp-key-pretty-logs-test-0123456789",
    });
    await dev.waitFor(/INFO.*\(api\): Server listening/, 60_000);
    await dev.waitFor(/INFO.*\(worker\): worker started/, 60_000);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    await fetch(`http://127.0.0.1:${port}/api/v1/odoo/webhook?secret=dev-webhook-secret`, { method: "POST" });
    const line = await dev.waitFor(/\/api\/v1\/odoo\/webhook\?secret=\S*/);
    expect(line[0]).toContain("secret=[REDACTED]");
    expect(dev.text()).not.toContain("dev-webhook-secret");
    expect(dev.text()).not.toContain("pretty-logs-test-0123456789");
    // Pretty, not JSON: `[12:34:56.789] INFO (api): …`.
    const apiLines = dev.output.filter((text) => text.includes("(api)"));
    expect(apiLines.length).toBeGreaterThan(0);
    for (const text of apiLines) expect(text.trimStart().startsWith("{")).toBe(false);
    expect(apiLines.some((text) => /^\[\d\d:\d\d:\d\d\.\d{3}\] /.test(text))).toBe(true);
  }, 120_000);
});
