import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./processes.ts";

// Extra Redis servers for tests of Sentinel and Cluster: real `redis-server` processes on free
// loopback ports, in a temporary directory, killed by `stop()` (call it in afterAll).

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RedisServer {
  port: number;
  child: ChildProcess;
  output: string[];
  /** A client of its own (closed by stop). */
  client: Redis;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

async function answering(port: number, timeoutMs = 10_000): Promise<Redis> {
  const started = Date.now();
  for (;;) {
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      // Up now: from here on a command waits through a reconnect (a failover drops connections)
      // instead of failing at once, as the probe above had to.
      client.options.maxRetriesPerRequest = 20;
      return client;
    } catch {
      client.disconnect();
      if (Date.now() - started > timeoutMs) throw new Error(`redis on ${port} did not answer`);
      await sleep(50);
    }
  }
}

/** Starts redis-servers (and sentinels); `stop()` kills every one of them and removes their files. */
export async function createRedisFleet() {
  const dir = await mkdtemp(join(tmpdir(), "vwksp-redis-"));
  const servers: RedisServer[] = [];

  async function spawnServer(args: string[]): Promise<RedisServer> {
    const port = await freePort();
    const child = spawn(
      "redis-server",
      [
        ...args,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--protected-mode",
        "no",
      ].map((arg) => arg.replaceAll("{port}", String(port))),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const output: string[] = [];
    child.stdout?.on("data", (chunk: Buffer) => output.push(...chunk.toString().split("\n").filter(Boolean)));
    child.stderr?.on("data", (chunk: Buffer) => output.push(...chunk.toString().split("\n").filter(Boolean)));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const client = await answering(port).catch((error: Error) => {
      child.kill("SIGKILL");
      throw new Error(`${error.message}:\n${output.join("\n")}`);
    });
    const server: RedisServer = {
      port,
      child,
      output,
      client,
      async kill(signal = "SIGKILL") {
        client.disconnect();
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    servers.push(server);
    return server;
  }

  return {
    dir,
    /** A plain server; `replicaOf` makes it a replica of that port. */
    server(options: { replicaOf?: number; extra?: string[] } = {}) {
      return spawnServer([
        ...(options.replicaOf ? ["--replicaof", "127.0.0.1", String(options.replicaOf)] : []),
        ...(options.extra ?? []),
      ]);
    },

    /**
     * A sentinel monitoring `masterPort` as `name`, quick to declare the master down (1 s);
     * `extra` lines go into its sentinel.conf (e.g. its TLS settings).
     */
    async sentinel(name: string, masterPort: number, quorum: number, extra: string[] = []) {
      const file = join(dir, `sentinel-${Math.random().toString(36).slice(2)}.conf`);
      await writeFile(
        file,
        [
          `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 4000`,
          `sentinel parallel-syncs ${name} 1`,
          ...extra,
          "",
        ].join("\n"),
      );
      return spawnServer([file, "--sentinel"]);
    },

    /** `n` masters with `cluster-enabled`, joined by `redis-cli --cluster create`, all slots served. */
    async cluster(n = 3) {
      const nodes = await Promise.all(
        Array.from({ length: n }, () =>
          spawnServer([
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            join(dir, "nodes-{port}.conf"),
            "--cluster-node-timeout",
            "2000",
          ]),
        ),
      );
      await run("redis-cli", [
        "--cluster",
        "create",
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ]);
      const started = Date.now();
      for (;;) {
        const states = await Promise.all(nodes.map((node) => node.client.call("CLUSTER", "INFO")));
        if (states.every((info) => String(info).includes("cluster_state:ok"))) break;
        if (Date.now() - started > 20_000) throw new Error(`cluster not ok:\n${states.join("\n")}`);
        await sleep(100);
      }
      return nodes;
    },

    async stop() {
      await Promise.all(servers.map((server) => server.kill("SIGKILL")));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type RedisFleet = Awaited<ReturnType<typeof createRedisFleet>>;

/** Where the sentinels say the master is now. */
export async function sentinelMaster(sentinel: RedisServer, name: string): Promise<number> {
  const [, port] = (await sentinel.client.call("SENTINEL", "get-master-addr-by-name", name)) as string[];
  return Number(port);
}
