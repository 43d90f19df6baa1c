import { z } from "zod";
import { GitOpsError } from "./errors.ts";
import { isSafeBranchName, normalizeRepoPath } from "./names.ts";

/** A token sent as the password of HTTP Basic auth (GitHub, GitLab, Gitea, Bitbucket accept it so). */
export const HttpsTokenAuth = z.object({
  type: z.literal("https-token"),
  token: z.string().min(1).max(4096),
  /** The user name sent with the token; most hosts ignore it, Bitbucket wants `x-token-auth`. */
  username: z.string().min(1).max(256).optional(),
});
export const BasicAuth = z.object({
  type: z.literal("basic"),
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(4096),
});
export const SshKeyAuth = z.object({
  type: z.literal("ssh-key"),
  /** An unencrypted private key (OpenSSH or PEM); ssh runs in batch mode and cannot ask for a passphrase. */
  privateKey: z.string().min(1).max(16_384),
  /** known_hosts line(s) for the server; when given, the host key is checked strictly. */
  knownHosts: z.string().min(1).max(16_384).optional(),
});
export const GitAuth = z.discriminatedUnion("type", [HttpsTokenAuth, BasicAuth, SshKeyAuth]);
export type GitAuth = z.infer<typeof GitAuth>;

export const GitAuthor = z.object({ name: z.string().min(1).max(200), email: z.email().max(254) });
export type GitAuthor = z.infer<typeof GitAuthor>;

export const GitBinding = z.object({
  url: z.string().min(1).max(2048),
  branch: z.string().min(1).max(200).refine(isSafeBranchName, "not a valid branch name"),
  /** Folder of the repository holding one directory per cluster ("" for the root). */
  path: z
    .string()
    .max(500)
    .refine((path) => normalizeRepoPath(path) !== undefined, "must be a folder inside the repository")
    .transform((path) => normalizeRepoPath(path) ?? ""),
  /** Create the branch on the first push when the remote does not have it. */
  createBranch: z.boolean().default(false),
  auth: GitAuth,
  author: GitAuthor,
});
export type GitBinding = z.output<typeof GitBinding>;
export type GitBindingInput = z.input<typeof GitBinding>;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const SCP_LIKE = /^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:(?!\/\/)[^\s]+$/;

/**
 * Why a URL cannot be used with this kind of credential, or undefined. Credentials never ride in
 * the URL (it would end up in logs and in FETCH_HEAD); plain http is for loopback test servers only.
 */
export function urlProblem(url: string, auth: GitAuth): string | undefined {
  if (url.startsWith("-") || /\s/.test(url)) return "the URL must not start with '-' or contain spaces";
  if (auth.type === "ssh-key") {
    if (SCP_LIKE.test(url)) return undefined;
    if (!url.startsWith("ssh://")) return "an ssh-key credential needs an ssh:// or user@host:path URL";
  } else if (!/^https?:\/\//.test(url)) {
    return `a ${auth.type} credential needs an https:// URL`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "the URL cannot be parsed";
  }
  if (parsed.password || (parsed.username && auth.type !== "ssh-key")) {
    return "the URL must not carry credentials; give them in auth";
  }
  if (parsed.protocol === "http:" && !LOOPBACK_HOSTS.has(parsed.hostname)) {
    return "plain http is accepted for loopback addresses only; use https";
  }
  return undefined;
}

/** The binding, validated and normalized, or a GitOpsError `InvalidBinding` naming every problem. */
export function parseBinding(input: unknown): GitBinding {
  const parsed = GitBinding.safeParse(input);
  if (!parsed.success) {
    // Issue paths and messages only: zod does not echo input values, so no secret leaks here.
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "binding"}: ${issue.message}`,
    );
    throw new GitOpsError("InvalidBinding", `invalid Git binding — ${problems.join("; ")}`);
  }
  const problem = urlProblem(parsed.data.url, parsed.data.auth);
  if (problem) throw new GitOpsError("InvalidBinding", `invalid Git binding — url: ${problem}`);
  return parsed.data;
}

/** The remote as shown in logs and messages: the URL (never holding a secret, see urlProblem) + branch. */
export const describeRemote = (binding: Pick<GitBinding, "url" | "branch">) =>
  `${binding.url} (branch ${binding.branch})`;
