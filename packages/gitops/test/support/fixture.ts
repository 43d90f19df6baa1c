import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createGitOpsEngine,
  createProcessLock,
  type GitBindingInput,
  type GitOpsEngineOptions,
} from "../../src/index.ts";
import { startGitHttpServer } from "./git-http-server.ts";
import { createBareRepository } from "./repositories.ts";

export interface GitFixtureOptions {
  /** Seed the branch with a README (default) or leave the repository empty. */
  empty?: boolean;
  onRequest?: (request: IncomingMessage) => void | Promise<void>;
}

/**
 * A loopback Git server with one repository `fleet` (branch main) and three credentials: a
 * token and a user/password that may push, and a reader that may not. Secrets are random per
 * fixture so a test can search for them anywhere.
 */
export async function startGitFixture(options: GitFixtureOptions = {}) {
  const root = await mkdtemp(join(tmpdir(), "vwksp-gitops-test-"));
  const projectRoot = join(root, "srv");
  await mkdir(projectRoot);
  const secrets = {
    token: `tok_${randomBytes(16).toString("hex")}`,
    password: `pw_${randomBytes(16).toString("hex")}`,
    readerPassword: `ro_${randomBytes(16).toString("hex")}`,
  };
  const server = await startGitHttpServer({
    projectRoot,
    accounts: [
      { password: secrets.token, canPush: true },
      { username: "deployer", password: secrets.password, canPush: true },
      { username: "reader", password: secrets.readerPassword, canPush: false },
    ],
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
  });
  const bare = await createBareRepository(
    projectRoot,
    "fleet",
    options.empty ? {} : { files: { "README.md": "fleet\n" } },
  );
  const engines: { close(): Promise<void> }[] = [];

  return {
    root,
    projectRoot,
    server,
    bare,
    secrets,
    binding: (overrides: Partial<GitBindingInput> = {}): GitBindingInput => ({
      url: server.url("fleet"),
      branch: "main",
      path: "clusters",
      auth: { type: "https-token", token: secrets.token },
      author: { name: "vWorkspace", email: "gitops@vworkspace.example.org" },
      ...overrides,
    }),
    async engine(overrides: Partial<GitOpsEngineOptions> = {}) {
      const engine = await createGitOpsEngine({
        workRoot: join(root, "work"),
        lock: createProcessLock(),
        retry: { baseDelayMs: 5, maxDelayMs: 40 },
        ...overrides,
      });
      engines.push(engine);
      return engine;
    },
    async close() {
      for (const engine of engines) await engine.close();
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export type GitFixture = Awaited<ReturnType<typeof startGitFixture>>;
