import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../packages/core/src/config.ts";
import { freePort } from "../../../test/support/processes.ts";
import { createRedisFleet, type RedisFleet, type RedisServer } from "../../../test/support/redis-servers.ts";
import { createRedis, describeRedisTarget, redisTarget } from "../src/connection.ts";

// REDIS_SENTINEL_TLS with real processes: a master and a sentinel that each listen for TLS only on
// the ports the service is given (their plain ports serve this test's own checks). The service's
// client reaches the sentinel over TLS, is told the master's TLS port, and writes there over TLS.
const NAME = "vwksp-tls";
const run = promisify(execFile);
let fleet: RedisFleet;
let master: RedisServer;
let sentinelTlsPort: number;
let ca: string;
const clients: Redis[] = [];

beforeAll(async () => {
  fleet = await createRedisFleet();
  const cert = join(fleet.dir, "tls.crt");
  const key = join(fleet.dir, "tls.key");
  // One self-signed certificate for 127.0.0.1 serves as the servers' certificate and as the CA.
  await run("openssl", [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
    ...["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
  ]);
  ca = await readFile(cert, "utf8");
  const tls = {
    "tls-cert-file": cert,
    "tls-key-file": key,
    "tls-ca-cert-file": cert,
    "tls-auth-clients": "no",
  };
  const masterTlsPort = await freePort();
  master = await fleet.server({
    extra: ["--tls-port", String(masterTlsPort), ...Object.entries(tls).flatMap(([k, v]) => [`--${k}`, v])],
  });
  sentinelTlsPort = await freePort();
  const sentinel = await fleet.sentinel(NAME, masterTlsPort, 1, [
    `tls-port ${sentinelTlsPort}`,
    "tls-replication yes",
    ...Object.entries(tls).map(([k, v]) => `${k} ${v}`),
  ]);
  // The sentinel reaches the master over TLS before the test asks it anything.
  const started = Date.now();
  for (;;) {
    const info = (await sentinel.client.call("SENTINEL", "MASTER", NAME)) as string[];
    const flags = info[info.indexOf("flags") + 1];
    if (flags === "master") break;
    if (Date.now() - started > 15_000) throw new Error(`sentinel sees the master as ${flags}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await fleet?.stop();
}, 30_000);

describe("Redis Sentinel over TLS", () => {
  it("asks the sentinels over TLS with REDIS_SENTINEL_TLS, and the master over TLS with rediss://", async () => {
    const target = redisTarget(
      loadConfig({
        REDIS_URL: "rediss://ignored.invalid:6379",
        REDIS_SENTINELS: `127.0.0.1:${sentinelTlsPort}`,
        REDIS_SENTINEL_NAME: NAME,
        REDIS_SENTINEL_TLS: "true",
      }),
    );
    expect(describeRedisTarget(target)).toBe(
      `master "${NAME}" via sentinels 127.0.0.1:${sentinelTlsPort} (TLS)`,
    );
    // The private CA (in production: NODE_EXTRA_CA_CERTS) — the same TLS options serve both hops.
    const client = createRedis(target, "commands", { tls: { ca } });
    clients.push(client);
    await client.set("written-over-tls", "yes");
    expect(await master.client.get("written-over-tls")).toBe("yes");
  });

  it("keeps the sentinels on plain TCP unless asked", () => {
    const config = { REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: NAME };
    expect(redisTarget(loadConfig(config)).sentinelTls).toBeUndefined();
    expect(redisTarget(loadConfig({ ...config, REDIS_SENTINEL_TLS: "" })).sentinelTls).toBeUndefined();
    expect(() => loadConfig({ ...config, REDIS_SENTINEL_TLS: "yes" })).toThrow(/REDIS_SENTINEL_TLS/);
  });
});
