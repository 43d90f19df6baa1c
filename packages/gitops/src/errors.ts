/**
 * Why a Git operation failed, as a stable code the caller can store, show and branch on.
 * Messages never carry a credential (they are redacted before an error is built).
 */
export const GIT_OPS_REASONS = [
  "InvalidBinding",
  "InvalidRequest",
  "Unreachable",
  "TLSError",
  "AuthenticationFailed",
  "HostKeyMismatch",
  "RepositoryNotFound",
  "BranchMissing",
  "PushDenied",
  "PushConflict",
  "LockTimeout",
  "Timeout",
  "GitFailed",
] as const;
export type GitOpsReason = (typeof GIT_OPS_REASONS)[number];

/**
 * Reasons a retry cannot fix without someone changing the binding or the remote: the caller fails
 * the job for good (BullMQ's UnrecoverableError) and marks the binding unhealthy.
 */
const PERMANENT: ReadonlySet<GitOpsReason> = new Set([
  "InvalidBinding",
  "InvalidRequest",
  "TLSError",
  "AuthenticationFailed",
  "HostKeyMismatch",
  "RepositoryNotFound",
  "BranchMissing",
  "PushDenied",
]);

export class GitOpsError extends Error {
  override readonly name = "GitOpsError";
  constructor(
    readonly reason: GitOpsReason,
    message: string,
  ) {
    super(message);
  }

  /** False when retrying the same operation cannot succeed until the binding or remote changes. */
  get retryable(): boolean {
    return !PERMANENT.has(this.reason);
  }
}

export const isGitOpsError = (error: unknown): error is GitOpsError => error instanceof GitOpsError;
