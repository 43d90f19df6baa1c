import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  GitBinding,
  parseBinding,
  planClusterDirectory,
  renderClusterDirectory,
  renderRegistrationSecretCommand,
} from "../src/index.ts";
import { application, CLUSTER_SLUG, desiredState, upsertChange } from "./support/desired-state.ts";

const shuffledKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(shuffledKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, inner]) => [key, shuffledKeys(inner)]),
  );
};

describe("renderClusterDirectory", () => {
  it("renders byte-identical files whatever the order of applications and of keys", () => {
    const apps = [application("vault"), application("wiki", { values: { b: 1, a: { d: 2, c: 3 } } })];
    const first = renderClusterDirectory(desiredState(apps));
    const second = renderClusterDirectory(desiredState([...apps].reverse().map(shuffledKeys) as typeof apps));
    expect([...second]).toEqual([...first]);
    expect([...first.keys()]).toEqual([
      "apps/org-acme/vault.yaml",
      "apps/org-acme/wiki.yaml",
      "cluster.yaml",
      "kustomization.yaml",
      "namespaces/org-acme.yaml",
    ]);
    const wiki = first.get("apps/org-acme/wiki.yaml") ?? "";
    expect(wiki).toMatch(/^# Written by the vWorkspace control plane/);
    // Sorted keys at every level, and the values of the same rendering as pull-mode jobs.
    expect(wiki.indexOf("apiVersion:")).toBeLessThan(wiki.indexOf("kind:"));
    expect(wiki.indexOf("      a:")).toBeLessThan(wiki.indexOf("      b:"));
    expect(parse(wiki)).toEqual(application("wiki", { values: { b: 1, a: { d: 2, c: 3 } } }));
  });

  it("puts no namespace on the cluster-scoped Cluster and no token anywhere", () => {
    const files = renderClusterDirectory({
      ...desiredState([]),
      registrationTokenSecretName: "custom-token",
    });
    const cluster = parse(files.get("cluster.yaml") ?? "");
    expect(cluster.metadata).toEqual({
      name: CLUSTER_SLUG,
      labels: {
        "app.vworkspace.io/cluster-id": desiredState([]).clusterId,
        "app.vworkspace.io/managed-by": "control-plane",
      },
    });
    expect(cluster.spec.registrationTokenSecretRef).toEqual({
      name: "custom-token",
      key: "registrationToken",
    });
    const kustomization = parse(files.get("kustomization.yaml") ?? "");
    expect(kustomization).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["cluster.yaml"],
    });
    expect([...files.values()].join("\n")).not.toMatch(/vwksp-reg-|registrationToken:/);
  });

  it("refuses an application named twice in one namespace", () => {
    expect(() => renderClusterDirectory(desiredState([application("vault"), application("vault")]))).toThrow(
      /names apps\/org-acme\/vault.yaml twice/,
    );
  });
});

describe("planClusterDirectory", () => {
  it("adds and removes one application file and keeps namespaces and the kustomization in step", () => {
    const start = renderClusterDirectory(desiredState([application("vault")]));
    const added = planClusterDirectory(start, upsertChange("wiki", { namespace: "org-beta" }));
    expect(parse(added.get("kustomization.yaml") ?? "").resources).toEqual([
      "apps/org-acme/vault.yaml",
      "apps/org-beta/wiki.yaml",
      "cluster.yaml",
      "namespaces/org-acme.yaml",
      "namespaces/org-beta.yaml",
    ]);
    const removed = planClusterDirectory(added, {
      type: "delete-application",
      clusterSlug: CLUSTER_SLUG,
      namespace: "org-acme",
      name: "vault",
    });
    // The namespace left without applications leaves Git (Flux keeps it: prune is disabled on it).
    expect([...removed.keys()]).toEqual([
      "apps/org-beta/wiki.yaml",
      "cluster.yaml",
      "kustomization.yaml",
      "namespaces/org-beta.yaml",
    ]);
    // The same state reached in one step renders the same bytes as reached by changes.
    expect([...removed]).toEqual([
      ...renderClusterDirectory(desiredState([application("wiki", { namespace: "org-beta" })])),
    ]);
  });
});

describe("parseBinding", () => {
  const valid = {
    url: "https://git.example.org/fleet.git",
    branch: "main",
    path: "./clusters/",
    auth: { type: "https-token", token: "secret-token-value" },
    author: { name: "vWorkspace", email: "gitops@example.org" },
  };

  it("normalizes the path and defaults createBranch", () => {
    expect(parseBinding(valid)).toMatchObject({ path: "clusters", createBranch: false });
    expect(GitBinding.parse({ ...valid, path: "" }).path).toBe("");
  });

  it.each([
    [{ url: "https://user:secret-token-value@git.example.org/fleet.git" }, /must not carry credentials/],
    [{ url: "http://git.example.org/fleet.git" }, /plain http is accepted for loopback/],
    [{ url: "ext::git-evil%G" }, /needs an https:\/\/ URL/],
    [{ url: "--upload-pack=evil" }, /must not start with '-'/],
    [{ branch: "-f" }, /branch: not a valid branch name/],
    [{ branch: "a..b" }, /branch: not a valid branch name/],
    [{ path: "../outside" }, /path: must be a folder inside the repository/],
    [{ path: "clusters/.git" }, /path: must be a folder inside the repository/],
    [{ auth: { type: "ssh-key", privateKey: "k" } }, /ssh-key credential needs an ssh:\/\//],
  ])("refuses %j with a reason and without echoing a secret", (override, message) => {
    let thrown: unknown;
    try {
      parseBinding({ ...valid, ...override });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ reason: "InvalidBinding", message: expect.stringMatching(message) });
    expect(String((thrown as Error).message)).not.toContain("secret-token-value");
  });

  it("accepts ssh:// and scp-like URLs for ssh keys", () => {
    const auth = { type: "ssh-key", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\n…" };
    expect(parseBinding({ ...valid, url: "ssh://git@git.example.org:2222/fleet.git", auth }).url).toContain(
      "ssh://",
    );
    expect(parseBinding({ ...valid, url: "git@github.com:acme/fleet.git", auth }).url).toBe(
      "git@github.com:acme/fleet.git",
    );
  });
});

describe("renderRegistrationSecretCommand", () => {
  it("renders the admin's kubectl line for the operator's namespace, re-runnable", () => {
    const token = `vwksp-reg-${"ab".repeat(32)}`;
    expect(renderRegistrationSecretCommand({ secretName: "prod-emea-1-registration", token })).toBe(
      `kubectl create secret generic prod-emea-1-registration --namespace=vworkspace-system --from-literal=registrationToken=${token} --dry-run=client -o yaml | kubectl apply -f -`,
    );
  });

  it("quotes what the shell would otherwise interpret", () => {
    expect(renderRegistrationSecretCommand({ secretName: "s", token: "a'b $(x)" })).toContain(
      `--from-literal='registrationToken=a'\\''b $(x)'`,
    );
  });
});
