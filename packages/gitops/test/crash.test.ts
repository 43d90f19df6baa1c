import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { application, CLUSTER_SLUG, upsertChange } from "./support/desired-state.ts";
import { filesBelow } from "./support/files.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { commitsOf, filesAt, git } from "./support/repositories.ts";
import { startApplyWorker } from "./support/worker-process.ts";

let fixture: GitFixture;
beforeEach(async () => {
  fixture = await startGitFixture();
});
afterEach(() => fixture.close());

const request = () => ({
  binding: fixture.binding(),
  change: upsertChange("vault"),
  jobId: "job-crash",
  idempotencyKey: "deploy-vault-7",
});

const commitsWithKey = async () =>
  (await commitsOf(fixture.bare, "main")).filter((commit) =>
    commit.body.includes("Vwksp-Idempotency-Key: deploy-vault-7"),
  );

describe("a worker SIGKILLed around the push", () => {
  it("between commit and push: nothing reached the remote, and the re-run pushes the change once", async () => {
    const workRoot = join(fixture.root, "work");
    const worker = startApplyWorker({ workRoot, pauseAt: "afterCommit", request: request() });
    const [, unpushed] = await worker.waitFor(/PAUSED ([0-9a-f]{40})/);
    await worker.kill();

    expect(await commitsOf(fixture.bare, "main")).toHaveLength(1);
    await expect(
      git(["--git-dir", fixture.bare, "cat-file", "-e", `${unpushed}^{commit}`]),
    ).rejects.toThrow();

    // The job is run again, by a new process on the same machine (same work root).
    const rerun = startApplyWorker({ workRoot, request: request() });
    const [, json] = await rerun.waitFor(/RESULT (.+)/);
    const result = JSON.parse(json ?? "{}");
    expect(result).toMatchObject({ outcome: "committed", attempts: 1 });
    expect(await rerun.exited).toBe(0);

    const pushed = await commitsWithKey();
    expect(pushed.map((commit) => commit.sha)).toEqual([result.commit]);
    expect(await filesAt(fixture.bare, "main")).toContain(
      `clusters/${CLUSTER_SLUG}/apps/org-acme/vault.yaml`,
    );
    // The killed process's folder was swept by the next engine, the re-run's own removed at close.
    expect(await filesBelow(workRoot)).toEqual([]);
  });

  it("after the push, before the caller heard of it: the re-run reports the pushed commit, pushes nothing", async () => {
    const workRoot = join(fixture.root, "work");
    const worker = startApplyWorker({ workRoot, pauseAt: "afterPush", request: request() });
    const [, pushedCommit] = await worker.waitFor(/PAUSED ([0-9a-f]{40})/);
    await worker.kill();
    expect((await commitsWithKey()).map((commit) => commit.sha)).toEqual([pushedCommit]);

    // Meanwhile another job moved the branch on; the re-run must neither undo it nor push again.
    const engine = await fixture.engine();
    await engine.applyChange({
      ...request(),
      change: { ...request().change, application: application("wiki") },
      jobId: "other",
      idempotencyKey: "other",
    });
    const result = await engine.applyChange(request());

    expect(result).toEqual({ outcome: "already-applied", commit: pushedCommit });
    expect((await commitsWithKey()).map((commit) => commit.sha)).toEqual([pushedCommit]);
    expect(await commitsOf(fixture.bare, "main")).toHaveLength(3);
  });
});
