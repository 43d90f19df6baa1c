import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { type ControlPlane, startControlPlane } from "./support/control-plane.ts";

const BIN = fileURLToPath(new URL("../bin/vwksp-agent.mjs", import.meta.url));
let cp: ControlPlane;
let dir: string;

beforeAll(async () => {
  cp = await startControlPlane();
  dir = await mkdtemp(join(tmpdir(), "vwksp-bin-"));
});

afterAll(async () => {
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real executable, as `pnpm exec vwksp-agent` starts it. */
function spawnAgent(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe("the vwksp-agent executable", () => {
  it("registers, runs until SIGTERM, aborts the waiting long-poll, flushes events and exits 0", async () => {
    const { cluster, token } = await cp.newCluster();
    const file = join(dir, "credentials.json");
    const register = spawnAgent([
      "register",
      "--control-plane-endpoint",
      cp.url,
      "--token",
      token,
      "--credentials-file",
      file,
    ]);
    expect(await register.exited, register.stderr()).toBe(0);
    expect(register.stdout()).toContain(`credential persisted to ${file}`);
    expect(register.stdout()).not.toContain(JSON.parse(await readFile(file, "utf8")).token);

    const run = spawnAgent([
      "run",
      "--credentials-file",
      file,
      "--backend",
      "local",
      "--state-dir",
      join(dir, "state"),
      "--wait",
      "30",
    ]);
    await eventually(async () => run.stdout().includes("Connected=True"), 15_000);
    await eventually(async () => cp.harness.app.longPollStats().waiters > 0);
    const signalled = Date.now();
    run.child.kill("SIGTERM");
    expect(await run.exited, run.stderr()).toBe(0);
    // The 30 s long-poll did not hold the stop up.
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(run.stdout()).toContain("stop requested; finishing the job in hand and flushing events");
    expect(run.stdout()).toContain("agent stopped (stopped)");
    expect(cp.harness.app.longPollStats().waiters).toBe(0);
    const events = await cp.events(cluster.id);
    expect(events.map((event) => event.conditions[0]?.type)).toContain("Connected");
  });
});
