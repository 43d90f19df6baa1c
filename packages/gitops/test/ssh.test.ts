import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GitBindingInput } from "../src/index.ts";
import { upsertChange } from "./support/desired-state.ts";
import { filesBelow } from "./support/files.ts";
import { type GitFixture, startGitFixture } from "./support/fixture.ts";
import { type GitSshServer, generateSshKeyPair, startGitSshServer } from "./support/git-ssh-server.ts";
import { allCommandLines } from "./support/process-arguments.ts";
import { commitsOf, headOf } from "./support/repositories.ts";

let fixture: GitFixture;
let sshServer: GitSshServer;
const writer = generateSshKeyPair();
const reader = generateSshKeyPair();
const stranger = generateSshKeyPair();

beforeEach(async () => {
  fixture = await startGitFixture();
  sshServer = await startGitSshServer(fixture.projectRoot, [
    { publicKey: writer.public, canPush: true },
    { publicKey: reader.public, canPush: false },
  ]);
});
afterEach(async () => {
  await sshServer.close();
  await fixture.close();
});

const sshBinding = (privateKey: string, knownHosts: string | undefined): GitBindingInput =>
  fixture.binding({
    url: sshServer.url("fleet"),
    auth: { type: "ssh-key", privateKey, ...(knownHosts ? { knownHosts } : {}) },
  });

const upsert = (jobId: string) => ({
  change: upsertChange(jobId),
  jobId,
  idempotencyKey: jobId,
});

describe("ssh-key credentials", () => {
  it("push with the key, checking the host key strictly; the key file lives only during the operation", async () => {
    const keyLines: string[] = [];
    const engine = await fixture.engine({
      hooks: {
        // Mid-operation: the key file exists, and no process has the key in its arguments.
        async afterCommit() {
          keyLines.push(...(await allCommandLines()).filter((line) => line.includes("OPENSSH PRIVATE KEY")));
          expect(
            (await filesBelow(join(fixture.root, "work"))).filter((path) => path.endsWith("/id")),
          ).toHaveLength(1);
        },
      },
    });
    const binding = sshBinding(writer.private, sshServer.hostPublicKey);

    expect(await engine.validateBinding(binding)).toEqual({
      ok: true,
      head: await headOf(fixture.bare, "main"),
      serverVerified: true,
    });
    const result = await engine.applyChange({ binding, ...upsert("vault") });

    expect(result).toMatchObject({ outcome: "committed" });
    expect((await commitsOf(fixture.bare, "main"))[0]?.sha).toBe(
      result.outcome === "committed" && result.commit,
    );
    expect(keyLines).toEqual([]);
    expect((await filesBelow(join(fixture.root, "work"))).filter((path) => path.includes("cred-"))).toEqual(
      [],
    );
  });

  it("refuses a host whose key differs from the known_hosts line", async () => {
    const engine = await fixture.engine();
    const impostor = stranger.public.split(" ").slice(0, 2).join(" ");
    const binding = sshBinding(writer.private, impostor);
    expect(await engine.validateBinding(binding)).toMatchObject({ ok: false, reason: "HostKeyMismatch" });
    await expect(engine.applyChange({ binding, ...upsert("vault") })).rejects.toMatchObject({
      reason: "HostKeyMismatch",
    });
    expect(await commitsOf(fixture.bare, "main")).toHaveLength(1);
  });

  it("names an unknown key AuthenticationFailed and a read-only key PushDenied", async () => {
    const engine = await fixture.engine();
    const unknown = await engine.validateBinding(sshBinding(stranger.private, sshServer.hostPublicKey));
    expect(unknown).toMatchObject({ ok: false, reason: "AuthenticationFailed" });
    expect(unknown.ok === false && unknown.message).not.toContain("PRIVATE KEY");

    const readOnly = sshBinding(reader.private, sshServer.hostPublicKey);
    expect(await engine.validateBinding(readOnly)).toMatchObject({ ok: false, reason: "PushDenied" });
    await expect(engine.applyChange({ binding: readOnly, ...upsert("vault") })).rejects.toMatchObject({
      reason: "PushDenied",
    });
  });

  it("without a known_hosts line the host is accepted but reported as not verified", async () => {
    const engine = await fixture.engine();
    expect(await engine.validateBinding(sshBinding(writer.private, undefined))).toMatchObject({
      ok: true,
      serverVerified: false,
    });
  });
});
