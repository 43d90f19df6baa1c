import { GitOpsError, type GitOpsReason } from "../errors.ts";
import { GitCommandError } from "./run-git.ts";

/** Reading (ls-remote, fetch) or writing (push): a 403 means "no access" or "no write access". */
export type GitPhase = "read" | "push";

/** stderr patterns of git 2.39 / OpenSSH 9 (LC_ALL=C), first match wins. */
const PATTERNS: [RegExp, GitOpsReason | ((phase: GitPhase) => GitOpsReason)][] = [
  [
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \w+ host key is known/i,
    "HostKeyMismatch",
  ],
  [
    /SSL certificate problem|server certificate verification failed|SSL_connect|gnutls_handshake|certificate verify failed|unable to get local issuer/i,
    "TLSError",
  ],
  [
    /Authentication failed|could not read (Username|Password)|returned error: 401|Permission denied \(publickey|Permission denied, please try again|invalid credentials/i,
    "AuthenticationFailed",
  ],
  [
    /returned error: 403|\[remote rejected\]|pre-receive hook declined|protected branch|not allowed to push|permission to .* denied|access denied|Permission denied/i,
    (phase) => (phase === "push" ? "PushDenied" : "AuthenticationFailed"),
  ],
  [
    /returned error: 404|Repository not found|does not appear to be a git repository|repository '[^']*' not found|not found: did you run git update-server-info|No such file or directory/i,
    "RepositoryNotFound",
  ],
  [/couldn't find remote ref|Remote branch .* not found/i, "BranchMissing"],
  [
    /Could not resolve host|Failed to connect|Connection refused|Connection timed out|Connection reset|Empty reply from server|Could not read from remote repository|Network is unreachable|No route to host|Operation timed out|connect to host/i,
    "Unreachable",
  ],
];

export function reasonFromStderr(stderr: string, phase: GitPhase): GitOpsReason {
  for (const [pattern, reason] of PATTERNS) {
    if (pattern.test(stderr)) return typeof reason === "function" ? reason(phase) : reason;
  }
  return "GitFailed";
}

/** The lines of git's stderr worth showing: errors and the remote's own words, not progress. */
export function gitErrorSummary(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(
      (line) => /^(fatal|error|remote|ssh|!|Host key|Permission|To )/i.test(line) && !/^To /.test(line),
    );
  return (lines.length > 0 ? lines : stderr.trim().split("\n").slice(-2)).join(" | ").slice(0, 600);
}

/**
 * A GitOpsError for a failed git command, naming what was attempted and where. Errors that are
 * already typed (timeouts) pass through; stderr was redacted by runGit.
 */
export function toGitOpsError(error: unknown, phase: GitPhase, doing: string): GitOpsError {
  if (error instanceof GitOpsError) return error;
  if (error instanceof GitCommandError) {
    const reason = reasonFromStderr(error.stderr, phase);
    return new GitOpsError(reason, `${doing} failed (${reason}): ${gitErrorSummary(error.stderr)}`);
  }
  return new GitOpsError(
    "GitFailed",
    `${doing} failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}
