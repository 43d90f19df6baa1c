import { GitOpsError } from "../errors.ts";
import { toGitOpsError } from "./classify.ts";
import { GitCommandError, type GitContext, runGit } from "./run-git.ts";

export type PushOutcome = "pushed" | "conflict";

/**
 * Pushes the commit to the branch if, and only if, the branch is still at `expected` (null: must
 * not exist yet) — a compare-and-swap on the remote ref (`--force-with-lease` with an explicit
 * value never overwrites anything else). A moved branch is a "conflict" for the caller to re-apply;
 * a refusal by the server (hook, protection, no write access) is PushDenied.
 */
export async function pushCommit(
  context: GitContext,
  dir: string,
  target: { url: string; branch: string; commit: string; expected: string | null; dryRun?: boolean },
): Promise<PushOutcome> {
  const ref = `refs/heads/${target.branch}`;
  const args = [
    "push",
    "--porcelain",
    ...(target.dryRun ? ["--dry-run"] : []),
    `--force-with-lease=${ref}:${target.expected ?? ""}`,
    "--end-of-options",
    target.url,
    `${target.commit}:${ref}`,
  ];
  let output: { stdout: string; stderr: string };
  try {
    output = await runGit(context, args, { cwd: dir });
  } catch (error) {
    if (!(error instanceof GitCommandError)) throw toGitOpsError(error, "push", `push to ${target.url}`);
    output = error;
  }
  const status = output.stdout.split("\n").find((line) => line.includes(`\t${target.commit}:${ref}\t`));
  if (!status) throw toGitOpsError(asError(output, args), "push", `push to ${target.url}`);
  const flag = status[0];
  if (flag !== "!") return "pushed";
  const summary = status.split("\t")[2] ?? "";
  if (summary.startsWith("[rejected]")) return "conflict";
  // The branch moved between the server's advertisement and its ref update (another writer's
  // push landed in between): the server's own compare-and-swap failed. A lost race like the
  // one above, not a refusal — the caller re-applies onto the new head.
  if (summary.startsWith("[remote rejected]") && REF_RACE.test(summary)) return "conflict";
  if (summary.startsWith("[remote rejected]")) {
    throw new GitOpsError("PushDenied", `push to ${target.url} refused by the server: ${summary}`);
  }
  throw new GitOpsError("GitFailed", `push to ${target.url} failed: ${summary}`);
}

/** receive-pack's words for "the ref is no longer at the old value you sent" (git 2.x). */
const REF_RACE = /failed to update ref|failed to lock|cannot lock ref|incorrect old value|but expected/;

const asError = (output: { stdout: string; stderr: string }, args: string[]) =>
  output instanceof GitCommandError ? output : new GitCommandError(args, 1, output.stderr, output.stdout);
