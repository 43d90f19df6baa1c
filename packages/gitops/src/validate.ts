import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { describeRemote, type GitBinding } from "./binding.ts";
import { GitOpsError, type GitOpsReason } from "./errors.ts";
import { toGitOpsError } from "./git/classify.ts";
import { pushCommit } from "./git/push.ts";
import { createCommit } from "./git/repository.ts";
import { type GitContext, runGit } from "./git/run-git.ts";

export type ValidationResult =
  | {
      ok: true;
      /** The branch's head, or null when it does not exist yet and will be created (createBranch). */
      head: string | null;
      /** The server's identity was checked: TLS for https, a given known_hosts line for ssh. */
      serverVerified: boolean;
    }
  | { ok: false; reason: GitOpsReason; message: string };

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/** The branch's head on the remote, or null: proves the remote is reachable and readable with the credential. */
async function remoteHead(context: GitContext, dir: string, binding: GitBinding) {
  const output = await runGit(
    context,
    ["ls-remote", "--end-of-options", binding.url, `refs/heads/${binding.branch}`],
    {
      cwd: dir,
    },
  ).catch((error) => {
    throw toGitOpsError(error, "read", `reading ${binding.url}`);
  });
  return output.stdout.split("\t")[0]?.trim() || null;
}

/**
 * A push that sends nothing (`--dry-run`): git still asks the server for the receive-pack
 * advertisement, which is where a read-only credential is refused. What it cannot see are rules
 * the server applies to the pushed commits themselves (pre-receive hooks, protected branches);
 * those show up as PushDenied on the first real push.
 */
async function dryRunPush(context: GitContext, dir: string, binding: GitBinding, head: string | null) {
  let commit: string;
  if (head) {
    // Not into refs/heads: git refuses to fetch into the branch a repository has checked out.
    const ref = "refs/vwksp/validate";
    const refspec = `+refs/heads/${binding.branch}:${ref}`;
    await runGit(
      context,
      ["fetch", "--quiet", "--depth=1", "--no-tags", "--end-of-options", binding.url, refspec],
      {
        cwd: dir,
      },
    ).catch((error) => {
      throw toGitOpsError(error, "read", `fetching ${describeRemote(binding)}`);
    });
    commit = (await runGit(context, ["rev-parse", ref], { cwd: dir })).stdout.trim();
  } else {
    const author = { ...binding.author, date: new Date("2000-01-01T00:00:00Z") };
    commit = await createCommit(context, dir, {
      tree: EMPTY_TREE,
      parent: null,
      message: "validate\n",
      author,
    });
  }
  const target = {
    url: binding.url,
    branch: binding.branch,
    commit,
    expected: head ? commit : null,
    dryRun: true,
  };
  // A "conflict" here means the branch moved since ls-remote: the server did accept us as a pusher.
  await pushCommit(context, dir, target);
}

export async function validateInScratch(context: GitContext, scratchDir: string, binding: GitBinding) {
  const dir = await mkdtemp(join(scratchDir, "validate-"));
  try {
    await runGit(context, ["init", "--quiet", dir]);
    const head = await remoteHead(context, dir, binding);
    if (head === null && !binding.createBranch) {
      throw new GitOpsError(
        "BranchMissing",
        `${describeRemote(binding)}: the branch does not exist; create it or set createBranch`,
      );
    }
    await dryRunPush(context, dir, binding, head);
    const serverVerified =
      binding.auth.type === "ssh-key"
        ? binding.auth.knownHosts !== undefined
        : binding.url.startsWith("https://");
    return { ok: true, head, serverVerified } as const;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
