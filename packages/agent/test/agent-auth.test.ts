import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/fixtures.ts";
import { main } from "../src/cli.ts";
import { type ControlPlane, captureOutput, startControlPlane } from "./support/control-plane.ts";
import { recordingFetch, runAgent } from "./support/run-agent.ts";

let cp: ControlPlane;
let dir: string;

beforeAll(async () => {
  // A rotated-away credential works for 2 s here (24 h by default).
  cp = await startControlPlane({ CREDENTIAL_ROTATION_GRACE_SECONDS: "2" });
  dir = await mkdtemp(join(tmpdir(), "vwksp-auth-"));
});

afterAll(async () => {
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const stdout = captureOutput();
  const stderr = captureOutput();
  const code = await main(args, { stdout, stderr, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function runningAgent(name: string) {
  const { cluster, token } = await cp.newCluster();
  const file = join(dir, name, "credentials.json");
  const registered = await cli([
    "register",
    "--control-plane-endpoint",
    cp.url,
    "--token",
    token,
    "--credentials-file",
    file,
  ]);
  expect(registered.code, registered.stderr).toBe(0);
  const recorder = recordingFetch();
  const agent = runAgent(
    [
      "--credentials-file",
      file,
      "--backend",
      "local",
      "--state-dir",
      join(dir, name, "state"),
      "--wait",
      "1",
    ],
    { fetch: recorder.fetch },
  );
  await eventually(async () => agent.stdout.text().includes("Connected=True"));
  return { cluster, file, agent, calls: recorder.calls };
}

const rotations = (calls: { path: string }[]) =>
  calls.filter((call) => call.path === "/api/agent/credentials/rotate");

describe("a refused credential", () => {
  it("401: tries one rotation, then stops and reports Authenticated=False", async () => {
    const { cluster, agent, calls } = await runningAgent("revoked");
    expect((await cp.admin("POST", `/api/v1/clusters/${cluster.id}/credentials/revoke`)).status).toBe(204);
    expect(await agent.exited).toBe(1);
    expect(rotations(calls)).toHaveLength(1);
    // Nothing is polled after the failed rotation.
    const rotateAt = calls.findIndex((call) => call.path === "/api/agent/credentials/rotate");
    expect(calls.slice(rotateAt + 1).filter((call) => call.path === "/api/agent/jobs")).toEqual([]);
    expect(agent.stdout.text()).toContain(
      "Cluster cluster-local condition Authenticated=False (CredentialRejected): agent credential is missing, malformed, expired, revoked or unknown",
    );
    expect(agent.stdout.text()).toContain("credential rotation failed: 401 unauthorized");
    expect(agent.stderr.text()).toBe(
      "vwksp-agent: stopped: the control plane refused this agent (unauthorized): agent credential is missing, malformed, expired, revoked or unknown\n",
    );
  });

  it("401: picks up the credential that `vwksp-agent rotate` stored, without rotating again", async () => {
    const { cluster, file, agent, calls } = await runningAgent("rotated-aside");
    const before = JSON.parse(await readFile(file, "utf8")).token;
    expect((await cli(["rotate", "--credentials-file", file])).code).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8")).token).not.toBe(before);
    // After the 2 s grace the old credential is refused; the agent re-reads the file.
    await eventually(
      async () => agent.stdout.text().includes(`using the newer credential found in ${file}`),
      10_000,
    );
    const { jobId } = await cp.rawJob(cluster.id, {
      kind: "apply",
      payload: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "after-rotation", namespace: "default" },
      },
    });
    expect(await cp.jobDone(jobId)).toMatchObject({ outcome: "succeeded" });
    expect(rotations(calls)).toEqual([]);
    expect(await agent.stop()).toBe(0);
  });

  it("403: stops at once, without retrying or rotating, and says why", async () => {
    const { cluster, agent, calls } = await runningAgent("disabled");
    expect((await cp.admin("DELETE", `/api/v1/clusters/${cluster.id}`)).status).toBe(200);
    expect(await agent.exited).toBe(1);
    expect(rotations(calls)).toEqual([]);
    const forbidden = calls.filter((call) => call.path === "/api/agent/jobs");
    expect(forbidden.length).toBeGreaterThan(0);
    expect(agent.stdout.text()).toMatch(/Cluster cluster-local condition Connected=False \(Forbidden\): .+/);
    expect(agent.stderr.text()).toMatch(
      /^vwksp-agent: stopped: the control plane refused this agent \(forbidden\): .+\n$/,
    );
  });
});
