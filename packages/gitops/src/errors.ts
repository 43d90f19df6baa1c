/**
 * Why a Git operation failed, as a stable code the caller can store, show and branch on, each
 * with whether retrying can help. `false`: retrying cannot succeed until someone changes the
 * binding or the remote — the caller fails the job for good (BullMQ's UnrecoverableError) and
 * marks the binding unhealthy. Messages never carry a credential (redacted before an error is built).
 */
const RETRYABLE = {
  InvalidBinding: false,
  InvalidRequest: false,
  Unreachable: true,
  TLSError: false,
  AuthenticationFailed: false,
  HostKeyMismatch: false,
  RepositoryNotFound: false,
  BranchMissing: false,
  PushDenied: false,
  /** The repository holds something the engine will not write through (a symbolic link). */
  UnsafeContent: false,
  PushConflict: true,
  LockTimeout: true,
  Timeout: true,
  GitFailed: true,
} as const;
export type GitOpsReason = keyof typeof RETRYABLE;
export const GIT_OPS_REASONS = Object.keys(RETRYABLE) as GitOpsReason[];

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
    return RETRYABLE[this.reason];
  }
}

export const isGitOpsError = (error: unknown): error is GitOpsError => error instanceof GitOpsError;
