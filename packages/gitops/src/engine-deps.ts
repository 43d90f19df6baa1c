import type { RepoLock } from "./lock/repo-lock.ts";
import type { WorkdirCache } from "./workdir-cache.ts";

/** Just enough of pino's interface; the engine logs remotes, outcomes and reasons, never credentials. */
export interface GitOpsLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Pause points around the push, for instrumentation and for tests that kill a worker there. */
export interface GitOpsHooks {
  afterCommit?(event: { commit: string; attempt: number }): Promise<void> | void;
  afterPush?(event: { commit: string; attempt: number }): Promise<void> | void;
}

export interface RetryPolicy {
  /** Attempts in all, the first included, before PushConflict. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface EngineDeps {
  cache: WorkdirCache;
  lock: RepoLock;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  retry: RetryPolicy;
  gitTimeoutMs: number;
  /** How many of the branch's newest commits are searched for an idempotency key. */
  idempotencyLookback: number;
  logger: GitOpsLogger;
  hooks: GitOpsHooks;
}
