import { access } from "node:fs/promises";
import { join } from "node:path";
import { GitCommandError, type GitContext, runGit } from "./run-git.ts";

/** The remote branch's head as last fetched; the cache repository tracks one branch of one remote. */
const REMOTE_HEAD = "refs/vwksp/remote-head";
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export async function ensureRepository(context: GitContext, dir: string) {
  const exists = await access(join(dir, ".git")).then(
    () => true,
    () => false,
  );
  if (!exists) await runGit(context, ["init", "--quiet", dir]);
}

/**
 * Fetches the branch into the cache (the URL is given each time and never stored as a remote) and
 * returns its head, or null when the remote has no such branch.
 */
export async function fetchRemoteHead(context: GitContext, dir: string, url: string, branch: string) {
  try {
    await runGit(
      context,
      [
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--end-of-options",
        url,
        `+refs/heads/${branch}:${REMOTE_HEAD}`,
      ],
      { cwd: dir },
    );
  } catch (error) {
    if (!(error instanceof GitCommandError) || !/couldn't find remote ref/i.test(error.stderr)) throw error;
    await runGit(context, ["update-ref", "-d", REMOTE_HEAD], { cwd: dir });
    return null;
  }
  return (
    await runGit(context, ["rev-parse", "--verify", `${REMOTE_HEAD}^{commit}`], { cwd: dir })
  ).stdout.trim();
}

/**
 * Makes the working tree exactly the given commit (or empty, for a branch still to be created):
 * whatever an earlier, interrupted operation left behind — files, index, commits never pushed —
 * is discarded here, so every operation starts from the remote's state.
 */
export async function resetWorkingTree(context: GitContext, dir: string, commit: string | null) {
  if (commit) await runGit(context, ["checkout", "--quiet", "--force", "--detach", commit], { cwd: dir });
  else await runGit(context, ["read-tree", "--empty"], { cwd: dir });
  await runGit(context, ["clean", "-ffdxq"], { cwd: dir });
}

/**
 * The tree with the folder's files as they are now, or null when it equals the parent's (nothing
 * to commit). `--force`: a .gitignore in the repository must not silently drop our manifests.
 */
export async function changedTree(context: GitContext, dir: string, folder: string, parent: string | null) {
  await runGit(context, ["add", "--all", "--force", "--", folder], { cwd: dir });
  const tree = (await runGit(context, ["write-tree"], { cwd: dir })).stdout.trim();
  const parentTree = parent
    ? (await runGit(context, ["rev-parse", `${parent}^{tree}`], { cwd: dir })).stdout.trim()
    : EMPTY_TREE;
  return tree === parentTree ? null : tree;
}

export interface CommitIdentity {
  name: string;
  email: string;
  date: Date;
}

/** A commit of the tree on the parent, without moving any ref: only the push publishes it. */
export async function createCommit(
  context: GitContext,
  dir: string,
  commit: { tree: string; parent: string | null; message: string; author: CommitIdentity },
) {
  const { name, email, date } = commit.author;
  const gitDate = `${Math.floor(date.getTime() / 1000)} +0000`;
  const identity = {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_AUTHOR_DATE: gitDate,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
    GIT_COMMITTER_DATE: gitDate,
  };
  const args = ["commit-tree", commit.tree, ...(commit.parent ? ["-p", commit.parent] : [])];
  const output = await runGit({ ...context, env: { ...context.env, ...identity } }, args, {
    cwd: dir,
    input: commit.message,
  });
  return output.stdout.trim();
}

/**
 * The newest of the last `lookback` commits whose message has the trailer line, if any — how a
 * re-run finds the commit an earlier attempt of the same job already pushed.
 */
export async function findCommitWithTrailer(
  context: GitContext,
  dir: string,
  head: string,
  trailer: string,
  lookback: number,
) {
  const log = await runGit(context, ["log", `--max-count=${lookback}`, "--format=%H%x1f%B%x1e", head], {
    cwd: dir,
  });
  for (const record of log.stdout.split("\x1e")) {
    const [sha, body] = record.trim().split("\x1f");
    if (sha && body?.split("\n").some((line) => line.trim() === trailer)) return sha;
  }
  return undefined;
}
