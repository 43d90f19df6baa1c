import { Writable } from "node:stream";
import { buildApp } from "../../apps/api/src/app.ts";
import { createApiDeps } from "../../apps/api/src/deps.ts";
import {
  type Argon2Pool,
  type Clock,
  type Config,
  createLogger,
  loadConfig,
} from "../../packages/core/src/index.ts";
import { createTestDatabase, type TestDatabase } from "./db.ts";
import { createTestRedisPrefix } from "./redis.ts";

/** Collects every log line an app writes, to assert on what the logs contain. */
export function createLogCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      callback();
    },
  });
  return { lines, stream, text: () => lines.join("\n") };
}

export interface TestEnv {
  db: TestDatabase;
  redis: ReturnType<typeof createTestRedisPrefix>;
  config(overrides?: Record<string, string>): Config;
  close(): Promise<void>;
}

/** One database and one Redis prefix for a test file; several app instances may share them. */
export async function createTestEnv(): Promise<TestEnv> {
  const db = await createTestDatabase();
  const redis = createTestRedisPrefix();
  return {
    db,
    redis,
    config: (overrides = {}) =>
      loadConfig({
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        REDIS_PREFIX: redis.prefix,
        LOG_LEVEL: "silent",
        ...overrides,
      }),
    async close() {
      await redis.cleanup();
      await db.drop();
    },
  };
}

export interface TestAppOptions {
  env: TestEnv;
  clock?: Clock;
  configOverrides?: Record<string, string>;
  captureLogs?: ReturnType<typeof createLogCapture>;
  /** Runs before `ready`, e.g. to add a route that exercises the error handler. */
  beforeReady?: (app: Awaited<ReturnType<typeof buildApp>>) => void;
  longPollRecheckMs?: number;
  /** An argon2 pool of the test's own (to count or bound its work). */
  argon2?: Argon2Pool;
}

/** The real app on the test file's database and Redis prefix, driven with `app.inject`. */
export async function createTestApp(options: TestAppOptions) {
  const { env, clock, configOverrides = {}, captureLogs, beforeReady, longPollRecheckMs, argon2 } = options;
  const config = env.config(configOverrides);
  const deps = createApiDeps(config, { ...(clock ? { clock } : {}), ...(argon2 ? { argon2 } : {}) });
  const logger = captureLogs
    ? createLogger(configOverrides.LOG_LEVEL ?? "trace", "api", captureLogs.stream)
    : undefined;
  const app = await buildApp(deps, {
    ...(logger ? { logger } : {}),
    ...(longPollRecheckMs ? { longPollRecheckMs } : {}),
  });
  beforeReady?.(app);
  await app.ready();
  return {
    app,
    deps,
    config,
    async close() {
      await app.close();
      await deps.close();
    },
  };
}
