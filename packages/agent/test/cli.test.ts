import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentHeaders } from "../../../test/support/agent.ts";
import { freePort } from "../../../test/support/processes.ts";
import { main } from "../src/cli.ts";
import { storeFlags } from "../src/commands/common.ts";
import { envName } from "../src/commands/flags.ts";
import { REGISTER_FLAGS } from "../src/commands/register.ts";
import { RUN_FLAGS } from "../src/commands/run.ts";
import { createKube, loadKubeConfig } from "../src/kube/kube.ts";
import { type ControlPlane, captureOutput, startControlPlane } from "./support/control-plane.ts";
import { type FakeKube, startFakeKube } from "./support/fake-kube.ts";

let cp: ControlPlane;
let dir: string;

beforeAll(async () => {
  cp = await startControlPlane();
  dir = await mkdtemp(join(tmpdir(), "vwksp-cli-"));
});

afterAll(async () => {
  await cp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI in-process; counts the HTTP requests it makes. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = captureOutput();
  const stderr = captureOutput();
  let requests = 0;
  const countingFetch: typeof fetch = (input, init) => {
    requests += 1;
    return fetch(input, init);
  };
  const code = await main(args, { stdout, stderr, env, fetch: countingFetch });
  return { code, stdout: stdout.text(), stderr: stderr.text(), requests };
}

const register = (token: string, file: string, extra: string[] = []) =>
  cli([
    "register",
    "--control-plane-endpoint",
    cp.url,
    "--token",
    token,
    "--credentials-file",
    file,
    ...extra,
  ]);

describe("vwksp-agent register", () => {
  it("exchanges the token, persists the credential with mode 0600 and prints the procedure, no secret", async () => {
    const { cluster, token } = await cp.newCluster({ signPayloads: true });
    const file = join(dir, "happy", "credentials.json");
    const result = await register(token, file, ["--cluster-id", cluster.id]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n").filter(Boolean)).toEqual([
      `registering cluster ${cluster.id} with ${cp.url} ...`,
      "exchanged registration token for bootstrap credential",
      `credential persisted to ${file}`,
      `Cluster ${cluster.id} condition Connected=True (ControlPlaneReachable)`,
    ]);
    expect(result.stderr).toBe("");

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await readFile(file, "utf8"));
    expect(stored).toEqual({
      baseUrl: cp.url,
      clusterId: cluster.id,
      token: expect.stringMatching(/^vwksp-agt-[0-9a-f]{64}$/),
      signingPublicKey: cluster.signingPublicKey,
      signPayloads: true,
    });
    for (const secret of [token, stored.token, token.slice(10), stored.token.slice(10)]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    // The persisted credential works.
    const poll = await fetch(`${cp.url}/api/agent/jobs?cluster=${cluster.id}&wait=0`, {
      headers: agentHeaders(stored.token, false),
    });
    expect(poll.status).toBe(200);
    const view = await cp.admin("GET", `/api/v1/clusters/${cluster.id}`);
    expect(view.body.status).toBe("connected");
  });

  it("takes the token from $VWKSP_REGISTRATION_TOKEN and the cluster id from the answer", async () => {
    const { cluster, token } = await cp.newCluster();
    const file = join(dir, "env", "credentials.json");
    const stdout = captureOutput();
    const stderr = captureOutput();
    const code = await main(
      ["register", "--control-plane-endpoint", `${cp.url}/`, "--credentials-file", file],
      {
        stdout,
        stderr,
        env: { VWKSP_REGISTRATION_TOKEN: token },
      },
    );
    expect(code, stderr.text()).toBe(0);
    expect(stdout.lines()[0]).toBe(`registering cluster (bound to the token) with ${cp.url} ...`);
    expect(stdout.lines()[3]).toBe(`Cluster ${cluster.id} condition Connected=True (ControlPlaneReachable)`);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({
      baseUrl: cp.url,
      clusterId: cluster.id,
    });
  });

  it.each([
    ["not a token", "hello"],
    ["a bad checksum", `vwksp-reg-${"0".repeat(64)}`],
    ["an agent credential", `vwksp-agt-${"a".repeat(64)}`],
  ])("refuses %s locally, sending nothing", async (_, token) => {
    const file = join(dir, "refused.json");
    const result = await register(token, file);
    expect(result.code).toBe(2);
    expect(result.requests).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("the registration token is malformed");
    expect(result.stderr).not.toContain(token);
    await expect(stat(file)).rejects.toThrow();
  });

  it("prints the server's message for a spent token (401) and exits non-zero", async () => {
    const { token } = await cp.newCluster();
    expect((await register(token, join(dir, "first.json"))).code).toBe(0);
    const file = join(dir, "second.json");
    const result = await register(token, file);
    expect(result.code).toBe(1);
    expect(result.requests).toBe(1);
    expect(result.stderr).toMatch(
      /^vwksp-agent: registration refused: registration token is .+ \(HTTP 401 invalid_token, request rq-[0-9a-f]+\)\n$/,
    );
    expect(result.stderr + result.stdout).not.toContain(token.slice(10));
    await expect(stat(file)).rejects.toThrow();
  });

  it("prints the server's message for a token bound to another cluster (403)", async () => {
    const { token } = await cp.newCluster();
    const other = await cp.newCluster();
    const result = await register(token, join(dir, "forbidden.json"), ["--cluster-id", other.cluster.id]);
    expect(result.code).toBe(1);
    const forbidden = await fetch(`${cp.url}/api/agent/register`, {
      method: "POST",
      headers: agentHeaders(token),
      body: JSON.stringify({ registrationToken: token, clusterId: other.cluster.id }),
    });
    const envelope = (await forbidden.json()) as { message: string };
    expect(result.stderr).toContain(`registration refused: ${envelope.message} (HTTP 403 `);
    expect(result.stderr + result.stdout).not.toContain(token.slice(10));
  });

  it("explains usage mistakes with exit code 2", async () => {
    expect((await cli(["register", "--token", "x", "--credentials-file", "f"])).stderr).toContain(
      "--control-plane-endpoint URL is required",
    );
    const both = await cli([
      "register",
      "--control-plane-endpoint",
      cp.url,
      "--token",
      (await cp.newCluster()).token,
      "--credentials-file",
      "f",
      "--credentials-secret",
      "ns/name",
    ]);
    expect(both).toMatchObject({ code: 2, requests: 0 });
    expect(both.stderr).toContain("not both");
    expect((await cli(["register", "--nope"])).code).toBe(2);
    expect((await cli(["frobnicate"])).code).toBe(2);
  });
});

describe("vwksp-agent register into a Kubernetes Secret", () => {
  let kube: FakeKube;
  beforeAll(async () => {
    kube = await startFakeKube();
  });
  afterAll(() => kube?.close());

  it("writes odoo-base-url, cluster-id, token and signing-public-key", async () => {
    const { cluster, token } = await cp.newCluster();
    const kubeconfig = await kube.writeKubeconfig(dir);
    const result = await cli([
      "register",
      "--control-plane-endpoint",
      cp.url,
      "--token",
      token,
      "--credentials-secret",
      "vworkspace-system/vworkspace-agent-credentials",
      "--kubeconfig",
      kubeconfig,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      "credential persisted to secret vworkspace-system/vworkspace-agent-credentials\n",
    );
    const secret = kube.object("v1", "secrets", "vworkspace-system", "vworkspace-agent-credentials");
    const data = secret?.data as Record<string, string>;
    const text = (name: string) => Buffer.from(data[name] ?? "", "base64").toString();
    expect(text("odoo-base-url")).toBe(cp.url);
    expect(text("cluster-id")).toBe(cluster.id);
    expect(text("token")).toMatch(/^vwksp-agt-[0-9a-f]{64}$/);
    expect(text("signing-public-key")).toBe(cluster.signingPublicKey);
    expect(result.stdout).not.toContain(text("token"));
    const store = createKube(loadKubeConfig(kubeconfig));
    expect(
      await store.get({
        apiVersion: "v1",
        kind: "Secret",
        namespace: "vworkspace-system",
        name: "vworkspace-agent-credentials",
      }),
    ).toBeDefined();
  });
});

describe("vwksp-agent rotate", () => {
  it("rotates on request, persists the new credential and prints no secret", async () => {
    const { cluster, token } = await cp.newCluster();
    const file = join(dir, "rotate", "credentials.json");
    expect((await register(token, file)).code).toBe(0);
    const before = JSON.parse(await readFile(file, "utf8"));
    const result = await cli(["rotate", "--credentials-file", file]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n").filter(Boolean)).toEqual([
      `rotated the agent credential of cluster ${cluster.id}`,
      `credential persisted to ${file}`,
    ]);
    const after = JSON.parse(await readFile(file, "utf8"));
    expect(after).toMatchObject({
      baseUrl: cp.url,
      clusterId: cluster.id,
      signingPublicKey: before.signingPublicKey,
    });
    expect(after.token).toMatch(/^vwksp-agt-[0-9a-f]{64}$/);
    expect(after.token).not.toBe(before.token);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(result.stdout + result.stderr).not.toContain(after.token);
    expect(result.stdout + result.stderr).not.toContain(before.token);
    const audit = await cp.harness.deps.db.auditEntry.count({
      where: { clusterId: cluster.id, kind: "CredentialRotated" },
    });
    expect(audit).toBe(1);
  });

  it("prints the server's message when the credential is refused", async () => {
    const { cluster, token } = await cp.newCluster();
    const file = join(dir, "revoked", "credentials.json");
    expect((await register(token, file)).code).toBe(0);
    expect((await cp.admin("POST", `/api/v1/clusters/${cluster.id}/credentials/revoke`)).status).toBe(204);
    const result = await cli(["rotate", "--credentials-file", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^vwksp-agent: rotation refused: .+ \(HTTP 401 unauthorized, request rq-/);
  });

  it("fails clearly without a credential", async () => {
    const result = await cli(["rotate", "--credentials-file", join(dir, "missing.json")]);
    expect(result).toMatchObject({ code: 1, requests: 0 });
    expect(result.stderr).toContain('run "vwksp-agent register" first');
  });
});

describe("vwksp-agent explains itself", () => {
  const commands = { register: REGISTER_FLAGS, run: RUN_FLAGS, rotate: storeFlags };

  it("prints each command's usage for --help (and -h) with every flag's variable, and exits 0", async () => {
    for (const [command, flags] of Object.entries(commands)) {
      for (const help of ["--help", "-h"]) {
        const result = await cli([command, help]);
        expect(result, `${command} ${help}`).toMatchObject({ code: 0, stderr: "", requests: 0 });
        expect(result.stdout).toContain(`usage: vwksp-agent ${command}`);
        for (const [flag, spec] of Object.entries(flags)) {
          expect(result.stdout, `${command} --${flag}`).toContain(`--${flag}`);
          expect(result.stdout, `${command} $${spec.env}`).toContain(`$${spec.env}`);
        }
      }
    }
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("vwksp-agent <command> --help");
  });

  it("reads every flag from VWKSP_<FLAG> (the token from VWKSP_REGISTRATION_TOKEN)", () => {
    for (const flags of Object.values(commands)) {
      for (const [flag, spec] of Object.entries(flags)) {
        expect(spec.env, flag).toBe(flag === "token" ? "VWKSP_REGISTRATION_TOKEN" : envName(flag));
      }
    }
  });

  it("registers from the environment alone, and a flag given wins over its variable", async () => {
    const { token } = await cp.newCluster();
    const file = join(dir, "from-env", "credentials.json");
    const result = await cli(["register"], {
      VWKSP_CONTROL_PLANE_ENDPOINT: cp.url,
      VWKSP_REGISTRATION_TOKEN: token,
      VWKSP_CREDENTIALS_FILE: file,
      VWKSP_DISPLAY_NAME: "from the environment",
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({ baseUrl: cp.url });

    const flagWins = await cli(["run", "--credentials-file", file, "--backend", "local", "--wait", "500"], {
      VWKSP_WAIT: "5",
    });
    expect(flagWins).toMatchObject({ code: 2, requests: 0 });
    expect(flagWins.stderr).toContain('--wait must be an integer from 0 to 300, got "500"');
    const fromEnv = await cli(["run"], {
      VWKSP_CREDENTIALS_FILE: file,
      VWKSP_BACKEND: "local",
      VWKSP_REQUIRE_SIGNATURES: "perhaps",
    });
    expect(fromEnv).toMatchObject({ code: 2, requests: 0 });
    expect(fromEnv.stderr).toContain('$VWKSP_REQUIRE_SIGNATURES must be true or false, got "perhaps"');
  });

  it("names the URL and the likely cause for a wrong port or a wrong scheme", async () => {
    const { token } = await cp.newCluster();
    const port = await freePort();
    const wrongPort = await cli(
      [
        "register",
        "--control-plane-endpoint",
        `http://127.0.0.1:${port}`,
        "--credentials-file",
        join(dir, "x.json"),
      ],
      { VWKSP_REGISTRATION_TOKEN: token },
    );
    expect(wrongPort.code).toBe(1);
    expect(wrongPort.stderr).toContain(
      `cannot reach the control plane at http://127.0.0.1:${port} (ECONNREFUSED): nothing listens there; check the port and that the control plane is running`,
    );

    const httpsToHttp = cp.url.replace(/^http:/, "https:");
    const wrongScheme = await cli(
      ["register", "--control-plane-endpoint", httpsToHttp, "--credentials-file", join(dir, "y.json")],
      { VWKSP_REGISTRATION_TOKEN: token },
    );
    expect(wrongScheme.code).toBe(1);
    expect(wrongScheme.stderr).toContain(
      `cannot reach the control plane at ${httpsToHttp} (ERR_SSL_WRONG_VERSION_NUMBER): the server there does not speak TLS; use http:// for that port`,
    );
  });
});
