import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServiceProcess, startProcess, waitForHttp } from "../../../test/support/processes.ts";
import { type ServiceProcesses, startServiceProcesses } from "../../../test/support/service.ts";

// `pnpm start` (scripts/start.ts) runs API and worker. One of them dying — whatever the reason —
// must not take the other down, and the dead one comes back by itself, saying so in the log.
let service: ServiceProcesses;
let start: ServiceProcess;

beforeAll(async () => {
  service = await startServiceProcesses();
}, 60_000);

afterAll(async () => {
  await start?.stop("SIGTERM", 20_000);
  await service?.stop();
}, 60_000);

/** The pid in the last JSON log line of `name` matching `message`. */
async function pidOf(name: "api" | "worker", message: RegExp, after = 0): Promise<number> {
  const line = await start.waitFor(
    new RegExp(`"pid":(\\d+)[^\\n]*"name":"${name}"[^\\n]*${message.source}`),
    30_000,
  );
  const pid = Number(line[1]);
  if (pid === after) {
    // An earlier line of the same process matched: wait for the next process's.
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const lines = start.output.filter((text) => text.includes(`"name":"${name}"`) && message.test(text));
      const latest = Number(/"pid":(\d+)/.exec(lines.at(-1) ?? "")?.[1]);
      if (latest && latest !== after) return latest;
    }
  }
  return pid;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("pnpm start", () => {
  it("restarts a process that died, keeps the other one serving, and says so", async () => {
    start = startProcess("start", "scripts/start.ts", [], service.env);
    await waitForHttp(`${service.base}/readyz`);
    const workerPid = await pidOf("worker", /worker started/);
    const apiPid = await pidOf("api", /Server listening/);

    process.kill(workerPid, "SIGKILL");
    await start.waitFor(/start: worker exited \(SIGKILL\); restarting it in 1 s/);
    expect((await fetch(`${service.base}/healthz`)).status).toBe(200);
    const newWorkerPid = await pidOf("worker", /worker started/, workerPid);
    expect(newWorkerPid).not.toBe(workerPid);

    process.kill(apiPid, "SIGKILL");
    await start.waitFor(/start: api exited \(SIGKILL\); restarting it in 1 s/);
    expect(alive(newWorkerPid)).toBe(true);
    await waitForHttp(`${service.base}/readyz`);
    expect(await pidOf("api", /Server listening/, apiPid)).not.toBe(apiPid);

    // A second quick death of the same process waits longer.
    process.kill(newWorkerPid, "SIGKILL");
    await start.waitFor(/start: worker exited \(SIGKILL\); restarting it in 2 s/);

    expect(start.child.exitCode).toBeNull();
    expect(await start.stop("SIGTERM", 20_000)).toBe(0);
  }, 120_000);
});
