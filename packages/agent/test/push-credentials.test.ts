import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeFake } from "../../kube-fake/src/index.ts";
import { intakeKubeconfig, validateCluster } from "../../push/src/index.ts";
import { startCluster } from "../../push/test/support/cluster.ts";
import { main } from "../src/cli.ts";
import { captureOutput } from "./support/control-plane.ts";

let kube: KubeFake;
let dir: string;
let adminConfig: string;

beforeAll(async () => {
  kube = await startCluster();
  dir = await mkdtemp(join(tmpdir(), "vwksp-push-cred-"));
  adminConfig = join(dir, "admin.yaml");
  await writeFile(adminConfig, kube.kubeconfigYaml(), { mode: 0o600 });
});

afterAll(async () => {
  await kube?.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = captureOutput();
  const stderr = captureOutput();
  const code = await main(args, { stdout, stderr, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("vwksp-agent push-credentials", () => {
  it("--help lists the flags and their VWKSP_ variables", async () => {
    const result = await cli(["push-credentials", "--help"]);
    expect(result.code).toBe(0);
    for (const variable of ["VWKSP_NAMESPACES", "VWKSP_APPLY", "VWKSP_OUTPUT", "VWKSP_SERVER"])
      expect(result.stdout).toContain(variable);
  });

  it("prints the ServiceAccount, roles, a RoleBinding per namespace and the token Secret", async () => {
    const result = await cli(["push-credentials"], { VWKSP_NAMESPACES: "org-a,org-b" });
    expect(result.code, result.stderr).toBe(0);
    for (const kind of ["ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "RoleBinding"])
      expect(result.stdout).toContain(`kind: ${kind}`);
    expect(result.stdout).toContain("namespace: org-a");
    expect(result.stdout).toContain("namespace: org-b");
    expect(result.stdout).not.toContain("secrets\n");
  });

  it("refuses a glob or no namespace with a usage error", async () => {
    expect((await cli(["push-credentials", "--namespaces", "org-*"])).code).toBe(2);
    expect((await cli(["push-credentials"])).code).toBe(2);
  });

  it("--apply creates the objects, waits for the token and writes a kubeconfig that validates", async () => {
    const output = join(dir, "out", "push.yaml");
    const result = await cli([
      "push-credentials",
      "--namespaces",
      "org-a,org-b",
      "--apply",
      "--kubeconfig",
      adminConfig,
      "--output",
      output,
      "--timeout",
      "15s",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`wrote the kubeconfig to paste to ${output}`);
    expect(((await stat(output)).mode & 0o777).toString(8)).toBe("600");
    const { kubeconfig } = intakeKubeconfig(await readFile(output, "utf8"));
    const token = kubeconfig.users[0].user.token ?? "";
    expect(token.length).toBeGreaterThan(0);
    expect(result.stdout).not.toContain(token);
    await expect(validateCluster(kubeconfig, { namespaces: ["org-a", "org-b"] })).resolves.toMatchObject({
      ok: true,
    });
  });
});
