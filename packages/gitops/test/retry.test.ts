import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { application, CLUSTER_SLUG, desiredState, upsertChange } from "./support/desired-state.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { rejectionOf } from "./support/rejection.ts";
import { commitsOf, commitToBare, fileAt, filesAt } from "./support/repositories.ts";

let fixture: GitFixture;
beforeEach(async () => {
  fixture = await startGitFixture();
});
afterEach(() => fixture.close());

const dir = `clusters/${CLUSTER_SLUG}`;

describe("a push that loses a race", () => {
  it("re-applies the change onto the foreign commit and pushes again", async () => {
    let foreign = "";
    let interfere = false;
    const engine = await fixture.engine({
      hooks: {
        // Someone else pushes to the branch after our commit was made and before our push.
        async afterCommit({ attempt }) {
          if (!interfere || attempt !== 1) return;
          foreign = await commitToBare(
            fixture.bare,
            "main",
            { [`${dir}/apps/org-acme/manual.yaml`]: "kind: ConfigMap\n", "docs/notes.md": "by hand\n" },
            "foreign change",
          );
        },
      },
    });
    const binding = fixture.binding();
    await engine.applyChange({
      binding,
      change: { type: "replace-cluster", state: desiredState([application("vault")]) },
      jobId: "setup",
      idempotencyKey: "setup",
    });
    const before = await commitsOf(fixture.bare, "main");
    interfere = true;

    const result = await engine.applyChange({
      binding,
      change: upsertChange("wiki"),
      jobId: "job-wiki",
      idempotencyKey: "wiki-1",
    });

    expect(result).toMatchObject({ outcome: "committed", attempts: 2 });
    const after = await commitsOf(fixture.bare, "main");
    expect(after).toHaveLength(before.length + 2);
    const [ours, theirs] = after;
    expect(theirs?.sha).toBe(foreign);
    expect(ours?.parents).toEqual([foreign]);
    expect(ours?.body).toContain("Vwksp-Idempotency-Key: wiki-1");
    // Nothing of theirs is lost, and our change is in: the files are recomputed on their head.
    const files = await filesAt(fixture.bare, "main");
    expect(files).toContain("docs/notes.md");
    expect(files).toContain(`${dir}/apps/org-acme/manual.yaml`);
    expect(files).toContain(`${dir}/apps/org-acme/wiki.yaml`);
    expect(parse(await fileAt(fixture.bare, "main", `${dir}/kustomization.yaml`)).resources).toEqual([
      "apps/org-acme/manual.yaml",
      "apps/org-acme/vault.yaml",
      "apps/org-acme/wiki.yaml",
      "cluster.yaml",
      "namespaces/org-acme.yaml",
    ]);
  });

  it("treats a foreign push landing between the server's advertisement and its ref update as a lost race", async () => {
    // The other writer's push lands while ours is already talking to the server: the client's
    // lease check passes, and the server's own compare-and-swap on the ref fails
    // ("[remote rejected] … (failed to update ref)"). Not a refusal: re-applied like any race.
    let armed = false;
    let foreign = "";
    const raced = await startGitFixture({
      async onRequest(request) {
        if (!armed || request.method !== "POST" || !(request.url ?? "").endsWith("/git-receive-pack")) return;
        armed = false;
        foreign = await commitToBare(raced.bare, "main", { "docs/late.md": "late\n" }, "late foreign push");
      },
    });
    try {
      const engine = await raced.engine();
      armed = true;
      const result = await engine.applyChange({
        binding: raced.binding(),
        change: { type: "replace-cluster", state: desiredState([application("vault")]) },
        jobId: "job-late",
        idempotencyKey: "late-1",
      });
      expect(result).toMatchObject({ outcome: "committed", attempts: 2 });
      const [ours] = await commitsOf(raced.bare, "main");
      expect(ours?.parents).toEqual([foreign]);
      expect(await filesAt(raced.bare, "main")).toContain("docs/late.md");
    } finally {
      await raced.close();
    }
  });

  it("gives up after the configured attempts with PushConflict, leaving the branch to the other writer", async () => {
    let foreignCommits = 0;
    const engine = await fixture.engine({
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      hooks: {
        async afterCommit() {
          foreignCommits++;
          await commitToBare(
            fixture.bare,
            "main",
            { [`other-${foreignCommits}.txt`]: "x\n" },
            `other ${foreignCommits}`,
          );
        },
      },
    });
    const error = await rejectionOf(
      engine.applyChange({
        binding: fixture.binding(),
        change: { type: "replace-cluster", state: desiredState([]) },
        jobId: "j",
        idempotencyKey: "k",
      }),
    );

    expect(error).toMatchObject({ reason: "PushConflict", retryable: true });
    expect(foreignCommits).toBe(3);
    const subjects = (await commitsOf(fixture.bare, "main")).map((commit) => commit.subject);
    expect(subjects).toEqual(["other 3", "other 2", "other 1", "seed"]);
  });
});
