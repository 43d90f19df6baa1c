import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  application,
  CLUSTER_ID,
  CLUSTER_SLUG,
  desiredState,
  upsertChange,
} from "./support/desired-state.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { commitsOf, commitToBare, fileAt, filesAt, headOf } from "./support/repositories.ts";

let fixture: GitFixture;
beforeEach(async () => {
  fixture = await startGitFixture();
});
afterEach(() => fixture.close());

const dir = `clusters/${CLUSTER_SLUG}`;

describe("applyChange", () => {
  it("writes the Cluster CR, one file per application and a kustomization as one commit", async () => {
    const engine = await fixture.engine({ clock: () => new Date("2026-07-01T10:00:00Z") });
    const state = desiredState([application("vault"), application("notes", { namespace: "org-beta" })]);
    const result = await engine.applyChange({
      binding: fixture.binding(),
      change: { type: "replace-cluster", state },
      jobId: "job-1",
      idempotencyKey: "idem-1",
    });

    expect(result).toMatchObject({ outcome: "committed", attempts: 1 });
    const head = await headOf(fixture.bare, "main");
    expect(result.outcome === "committed" && result.commit).toBe(head);
    expect(await filesAt(fixture.bare, "main")).toEqual([
      "README.md",
      `${dir}/apps/org-acme/vault.yaml`,
      `${dir}/apps/org-beta/notes.yaml`,
      `${dir}/cluster.yaml`,
      `${dir}/kustomization.yaml`,
      `${dir}/namespaces/org-acme.yaml`,
      `${dir}/namespaces/org-beta.yaml`,
    ]);
    const cluster = parse(await fileAt(fixture.bare, "main", `${dir}/cluster.yaml`));
    expect(cluster).toMatchObject({
      apiVersion: "ops.vworkspace.io/v1alpha1",
      kind: "Cluster",
      metadata: { name: CLUSTER_SLUG },
      spec: {
        clusterId: CLUSTER_ID,
        controlPlaneEndpoint: "https://workspace.example.org",
        connectivityMode: "gitops",
        registrationTokenSecretRef: { name: `${CLUSTER_SLUG}-registration`, key: "registrationToken" },
      },
    });
    expect(cluster.metadata.namespace).toBeUndefined();
    expect(parse(await fileAt(fixture.bare, "main", `${dir}/apps/org-acme/vault.yaml`))).toEqual(
      application("vault"),
    );
    expect(parse(await fileAt(fixture.bare, "main", `${dir}/kustomization.yaml`)).resources).toEqual([
      "apps/org-acme/vault.yaml",
      "apps/org-beta/notes.yaml",
      "cluster.yaml",
      "namespaces/org-acme.yaml",
      "namespaces/org-beta.yaml",
    ]);
    expect(parse(await fileAt(fixture.bare, "main", `${dir}/namespaces/org-beta.yaml`))).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "org-beta",
        labels: { "app.vworkspace.io/managed-by": "control-plane" },
        annotations: { "kustomize.toolkit.fluxcd.io/prune": "disabled" },
      },
    });

    const [commit, seed] = await commitsOf(fixture.bare, "main");
    expect(commit?.parents).toEqual([seed?.sha]);
    expect(commit?.author).toBe("vWorkspace <gitops@vworkspace.example.org>");
    expect(commit?.subject).toBe(`gitops: write cluster ${CLUSTER_SLUG} (2 applications)`);
    expect(commit?.body).toContain("Vwksp-Job-Id: job-1");
    expect(commit?.body).toContain("Vwksp-Idempotency-Key: idem-1");
  });

  it("makes one commit per change and none for a change that alters nothing", async () => {
    const engine = await fixture.engine();
    const binding = fixture.binding();
    const state = desiredState([application("vault")]);
    await engine.applyChange({
      binding,
      change: { type: "replace-cluster", state },
      jobId: "j1",
      idempotencyKey: "k1",
    });
    const upsert = upsertChange("wiki");
    const second = await engine.applyChange({ binding, change: upsert, jobId: "j2", idempotencyKey: "k2" });
    const unchanged = await engine.applyChange({
      binding,
      change: { type: "replace-cluster", state: desiredState([application("wiki"), application("vault")]) },
      jobId: "j3",
      idempotencyKey: "k3",
    });
    const deletion = {
      type: "delete-application",
      clusterSlug: CLUSTER_SLUG,
      namespace: "org-acme",
      name: "vault",
    } as const;
    const third = await engine.applyChange({ binding, change: deletion, jobId: "j4", idempotencyKey: "k4" });

    expect(second.outcome).toBe("committed");
    expect(unchanged).toEqual({ outcome: "noop", head: second.outcome === "committed" ? second.commit : "" });
    expect(third.outcome).toBe("committed");
    const commits = await commitsOf(fixture.bare, "main");
    expect(commits.map((commit) => commit.subject)).toEqual([
      `gitops: delete org-acme/vault on ${CLUSTER_SLUG}`,
      `gitops: apply org-acme/wiki on ${CLUSTER_SLUG}`,
      `gitops: write cluster ${CLUSTER_SLUG} (1 applications)`,
      "seed",
    ]);
    expect(await filesAt(fixture.bare, "main")).toEqual([
      "README.md",
      `${dir}/apps/org-acme/wiki.yaml`,
      `${dir}/cluster.yaml`,
      `${dir}/kustomization.yaml`,
      `${dir}/namespaces/org-acme.yaml`,
    ]);
    expect(parse(await fileAt(fixture.bare, "main", `${dir}/kustomization.yaml`)).resources).toEqual([
      "apps/org-acme/wiki.yaml",
      "cluster.yaml",
      "namespaces/org-acme.yaml",
    ]);
  });

  it("applying the same job again makes no second commit and names the first", async () => {
    const engine = await fixture.engine();
    const request = {
      binding: fixture.binding(),
      change: upsertChange("vault"),
      jobId: "job-7",
      idempotencyKey: "deploy-vault-1",
    };
    const first = await engine.applyChange(request);
    const again = await engine.applyChange(request);

    expect(first.outcome).toBe("committed");
    expect(again).toEqual({
      outcome: "already-applied",
      commit: first.outcome === "committed" && first.commit,
    });
    expect(await commitsOf(fixture.bare, "main")).toHaveLength(2);
  });

  it("creates the branch on the first push when allowed, and refuses to when not", async () => {
    const engine = await fixture.engine();
    const change = { type: "replace-cluster", state: desiredState([]) } as const;
    await expect(
      engine.applyChange({
        binding: fixture.binding({ branch: "flux" }),
        change,
        jobId: "j",
        idempotencyKey: "k",
      }),
    ).rejects.toMatchObject({ reason: "BranchMissing" });

    const result = await engine.applyChange({
      binding: fixture.binding({ branch: "flux", createBranch: true }),
      change,
      jobId: "j",
      idempotencyKey: "k",
    });
    expect(result.outcome).toBe("committed");
    const [root] = await commitsOf(fixture.bare, "flux");
    expect(root?.parents).toEqual([]);
    expect(await filesAt(fixture.bare, "flux")).toEqual([`${dir}/cluster.yaml`, `${dir}/kustomization.yaml`]);
  });

  it("refuses to write through a symbolic link someone committed", async () => {
    const outside = await mkdtemp(join(tmpdir(), "vwksp-gitops-outside-"));
    try {
      await commitToBare(fixture.bare, "main", { clusters: { symlink: outside } }, "link clusters elsewhere");
      const engine = await fixture.engine();
      await expect(
        engine.applyChange({
          binding: fixture.binding(),
          change: upsertChange("vault"),
          jobId: "j",
          idempotencyKey: "k",
        }),
      ).rejects.toMatchObject({
        reason: "UnsafeContent",
        message: expect.stringContaining("symbolic link at clusters"),
      });
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it("commits the manifests even where the repository's .gitignore would leave them out", async () => {
    await commitToBare(fixture.bare, "main", { ".gitignore": "*.yaml\nclusters/\n" }, "ignore yaml");
    const engine = await fixture.engine();
    const change = { type: "replace-cluster", state: desiredState([application("vault")]) } as const;
    const result = await engine.applyChange({
      binding: fixture.binding(),
      change,
      jobId: "j",
      idempotencyKey: "k",
    });
    expect(result.outcome).toBe("committed");
    expect(await filesAt(fixture.bare, "main")).toContain(`${dir}/apps/org-acme/vault.yaml`);
  });
});
