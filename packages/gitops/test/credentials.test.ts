import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { application, desiredState, upsertChange } from "./support/desired-state.ts";
import { filesContaining } from "./support/files.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { allCommandLines } from "./support/process-arguments.ts";
import { rejectionOf } from "./support/rejection.ts";
import { commitsOf } from "./support/repositories.ts";

let fixture: GitFixture | undefined;
afterEach(() => fixture?.close());

const upsert = upsertChange("vault");

describe("credentials", () => {
  it("a wrong token fails with AuthenticationFailed, not retryable, and names no secret", async () => {
    fixture = await startGitFixture();
    const engine = await fixture.engine();
    const wrong = "wrong-token-4a7f9c";
    const error = await rejectionOf(
      engine.applyChange({
        binding: fixture.binding({ auth: { type: "https-token", token: wrong } }),
        change: upsert,
        jobId: "j",
        idempotencyKey: "k",
      }),
    );

    expect(error).toMatchObject({ name: "GitOpsError", reason: "AuthenticationFailed", retryable: false });
    expect(error.message).toContain(fixture.server.url("fleet"));
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(fixture.secrets.token);
    expect(await commitsOf(fixture.bare, "main")).toHaveLength(1);
  });

  it("a read-only credential is refused at the push with PushDenied", async () => {
    fixture = await startGitFixture();
    const engine = await fixture.engine();
    const reader = { type: "basic", username: "reader", password: fixture.secrets.readerPassword } as const;
    await expect(
      engine.applyChange({
        binding: fixture.binding({ auth: reader }),
        change: upsert,
        jobId: "j",
        idempotencyKey: "k",
      }),
    ).rejects.toMatchObject({ reason: "PushDenied", retryable: false });
    expect(await commitsOf(fixture.bare, "main")).toHaveLength(1);
  });

  it("secrets are in no process's arguments, no file of the clone and not in .git/config", async () => {
    const seen: string[][] = [];
    fixture = await startGitFixture({
      // While the server holds a request, the client's git processes are alive: look at them.
      onRequest: async () => {
        seen.push(await allCommandLines());
      },
    });
    const current = fixture;
    const engine = await current.engine();
    const secrets = [current.secrets.token, current.secrets.password];
    const basic = { type: "basic", username: "deployer", password: current.secrets.password } as const;
    await engine.applyChange({
      binding: current.binding(),
      change: { type: "replace-cluster", state: desiredState([application("vault")]) },
      jobId: "j1",
      idempotencyKey: "k1",
    });
    await engine.applyChange({
      binding: current.binding({ auth: basic }),
      change: upsert,
      jobId: "j2",
      idempotencyKey: "k2",
    });
    await engine.validateBinding(current.binding({ auth: basic }));

    const commandLines = seen.flat();
    // Not vacuous: git's HTTP transport was caught in the act, with the URL in its arguments.
    expect(
      commandLines.some((line) => line.includes("remote-http") && line.includes(current.server.url("fleet"))),
    ).toBe(true);
    for (const secret of secrets) {
      expect(commandLines.filter((line) => line.includes(secret))).toEqual([]);
      expect(await filesContaining(join(current.root, "work"), secret)).toEqual([]);
    }
    expect(engine.cachedRepositories()).toHaveLength(1);
    const [clone] = await filesContaining(join(current.root, "work"), "[core]");
    expect(clone).toMatch(/\.git\/config$/);
    const config = await readFile(clone ?? "", "utf8");
    expect(config).not.toContain("[remote");
    expect(config).not.toContain("127.0.0.1");
  });
});
