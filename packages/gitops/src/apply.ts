import { join } from "node:path";
import { describeRemote, type GitBinding } from "./binding.ts";
import { clusterSlugOf, describeChange, type GitOpsChange, planClusterDirectory } from "./change.ts";
import { commitMessage, idempotencyTrailer } from "./commit-message.ts";
import { assertNoSymlinkOnPath, readDirectoryFiles, writeDirectoryFiles } from "./directory-files.ts";
import type { EngineDeps } from "./engine-deps.ts";
import { GitOpsError } from "./errors.ts";
import { toGitOpsError } from "./git/classify.ts";
import { pushCommit } from "./git/push.ts";
import {
  changedTree,
  createCommit,
  ensureRepository,
  fetchRemoteHead,
  findCommitWithTrailer,
  resetWorkingTree,
} from "./git/repository.ts";
import type { GitContext } from "./git/run-git.ts";
import { clusterDirectoryPath } from "./render/cluster-directory.ts";

export interface ApplyRequest {
  binding: GitBinding;
  change: GitOpsChange;
  jobId: string;
  idempotencyKey: string;
  summary?: string | undefined;
}

export type ApplyResult =
  /** A new commit is on the remote branch. */
  | { outcome: "committed"; commit: string; attempts: number }
  /** The change makes no difference to the branch's files; nothing was committed. */
  | { outcome: "noop"; head: string | null }
  /** A commit carrying this idempotency key is already on the branch (an earlier attempt pushed it). */
  | { outcome: "already-applied"; commit: string };

const backoffMs = (deps: EngineDeps, attempt: number) =>
  Math.min(deps.retry.maxDelayMs, deps.retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + deps.random() / 2);

/**
 * One attempt per loop: fetch the branch, reset the clone to it, compute the directory from the
 * change, commit if the tree differs, push with compare-and-swap. A moved branch means someone
 * else pushed: the loop starts over from their head (the change is re-applied to fresh files, not
 * rebased), with backoff, up to `retry.maxAttempts`.
 */
export async function applyInClone(
  deps: EngineDeps,
  context: GitContext,
  dir: string,
  request: ApplyRequest,
): Promise<ApplyResult> {
  const { binding, change } = request;
  const remote = describeRemote(binding);
  const message = commitMessage(request, `gitops: ${describeChange(change)}`);
  const clusterFolder = clusterDirectoryPath(binding.path, clusterSlugOf(change));
  const clusterRoot = join(dir, clusterFolder);
  await ensureRepository(context, dir);
  for (let attempt = 1; attempt <= deps.retry.maxAttempts; attempt++) {
    const head = await fetchRemoteHead(context, dir, binding.url, binding.branch).catch((error) => {
      throw toGitOpsError(error, "read", `fetch of ${remote}`);
    });
    if (head === null && !binding.createBranch) {
      throw new GitOpsError("BranchMissing", `${remote}: the branch does not exist and createBranch is off`);
    }
    if (head) {
      const trailer = idempotencyTrailer(request.idempotencyKey);
      const earlier = await findCommitWithTrailer(context, dir, head, trailer, deps.idempotencyLookback);
      if (earlier) return { outcome: "already-applied", commit: earlier };
    }
    await resetWorkingTree(context, dir, head);
    await assertNoSymlinkOnPath(dir, clusterRoot);
    const current = await readDirectoryFiles(clusterRoot);
    await writeDirectoryFiles(clusterRoot, current, planClusterDirectory(current, change));
    const tree = await changedTree(context, dir, clusterFolder, head);
    if (!tree) return { outcome: "noop", head };
    const author = { ...binding.author, date: deps.clock() };
    const commit = await createCommit(context, dir, { tree, parent: head, message, author });
    await deps.hooks.afterCommit?.({ commit, attempt });
    const target = { url: binding.url, branch: binding.branch, commit, expected: head };
    if ((await pushCommit(context, dir, target)) === "pushed") {
      await deps.hooks.afterPush?.({ commit, attempt });
      return { outcome: "committed", commit, attempts: attempt };
    }
    deps.logger.warn(
      { remote, attempt, jobId: request.jobId },
      "gitops push lost a race; re-applying onto the new head",
    );
    if (attempt < deps.retry.maxAttempts) await deps.sleep(backoffMs(deps, attempt));
  }
  throw new GitOpsError(
    "PushConflict",
    `${remote}: the branch moved during each of ${deps.retry.maxAttempts} attempts; gave up`,
  );
}
