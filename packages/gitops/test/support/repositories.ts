import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The `git` of the tests' own side: no user config, a fixed identity for commits made here. */
const testGitEnv = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: tmpdir(),
  LC_ALL: "C",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Someone Else",
  GIT_AUTHOR_EMAIL: "someone@example.org",
  GIT_COMMITTER_NAME: "Someone Else",
  GIT_COMMITTER_EMAIL: "someone@example.org",
};

export async function git(args: string[], cwd?: string): Promise<string> {
  const { stdout } = await run("git", args, { cwd, env: testGitEnv, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * A bare repository `<projectRoot>/<name>.git`; with files, its branch starts with one commit of
 * them, otherwise the repository is empty (no branch at all).
 */
export async function createBareRepository(
  projectRoot: string,
  name: string,
  seed: { branch?: string; files?: Record<string, string> } = {},
): Promise<string> {
  const bare = join(projectRoot, `${name}.git`);
  await git(["init", "--quiet", "--bare", "--initial-branch", seed.branch ?? "main", bare]);
  if (seed.files) await commitToBare(bare, seed.branch ?? "main", seed.files, "seed");
  return bare;
}

/**
 * Another writer's commit, pushed straight into the bare repository (not through the engine):
 * files mapped to null are deleted, `{ symlink }` makes a symbolic link. Returns the new commit.
 */
export async function commitToBare(
  bare: string,
  branch: string,
  files: Record<string, string | null | { symlink: string }>,
  message: string,
): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), "vwksp-gitops-foreign-"));
  try {
    await git(["init", "--quiet", work]);
    const exists = (await git(["ls-remote", bare, `refs/heads/${branch}`])).trim() !== "";
    if (exists) {
      await git(["fetch", "--quiet", bare, `refs/heads/${branch}`], work);
      await git(["checkout", "--quiet", "--detach", "FETCH_HEAD"], work);
    }
    for (const [path, content] of Object.entries(files)) {
      if (content === null) {
        await rm(join(work, path), { force: true });
        continue;
      }
      await mkdir(dirname(join(work, path)), { recursive: true });
      if (typeof content === "string") await writeFile(join(work, path), content);
      else await symlink(content.symlink, join(work, path));
    }
    await git(["add", "--all"], work);
    await git(["commit", "--quiet", "--allow-empty", "-m", message], work);
    await git(["push", "--quiet", bare, `HEAD:refs/heads/${branch}`], work);
    return (await git(["rev-parse", "HEAD"], work)).trim();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const headOf = async (bare: string, branch: string) =>
  (await git(["--git-dir", bare, "rev-parse", `refs/heads/${branch}`])).trim();

export const fileAt = (bare: string, ref: string, path: string) =>
  git(["--git-dir", bare, "show", `${ref}:${path}`]);

export async function filesAt(bare: string, ref: string): Promise<string[]> {
  const output = await git(["--git-dir", bare, "ls-tree", "-r", "--name-only", ref]);
  return output.split("\n").filter(Boolean);
}

export interface LoggedCommit {
  sha: string;
  subject: string;
  body: string;
  author: string;
  parents: string[];
}

/** The branch's history, newest first. */
export async function commitsOf(bare: string, ref: string): Promise<LoggedCommit[]> {
  const output = await git(["--git-dir", bare, "log", "--format=%H%x1f%P%x1f%an <%ae>%x1f%s%x1f%b%x1e", ref]);
  return output
    .split("\x1e")
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record) => {
      const [sha = "", parents = "", author = "", subject = "", body = ""] = record.split("\x1f");
      return { sha, parents: parents.split(" ").filter(Boolean), author, subject, body };
    });
}
