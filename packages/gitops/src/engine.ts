import { setTimeout as delay } from "node:timers/promises";
import { type ApplyResult, applyInClone } from "./apply.ts";
import { describeRemote, type GitBindingInput, parseBinding } from "./binding.ts";
import { GitOpsChange } from "./change.ts";
import type { CommitRequest } from "./commit-message.ts";
import type { EngineDeps, GitOpsHooks, GitOpsLogger, RetryPolicy } from "./engine-deps.ts";
import { GitOpsError, isGitOpsError } from "./errors.ts";
import { toGitOpsError } from "./git/classify.ts";
import { openGitSession } from "./git/credentials.ts";
import { type RepoLock, repoLockKey } from "./lock/repo-lock.ts";
import { type ValidationResult, validateInScratch } from "./validate.ts";
import { createWorkdirCache } from "./workdir-cache.ts";

export interface GitOpsEngineOptions {
  /** Host-local folder for this process's clones and short-lived credential files. */
  workRoot: string;
  /** Serializes pushes to one branch across workers: createPgAdvisoryLock(pool) in production. */
  lock: RepoLock;
  /** Clones kept on disk at most (LRU); default 32. */
  maxCachedRepositories?: number;
  retry?: Partial<RetryPolicy>;
  /** Limit for one git command (fetch, push, …); default 120 s. */
  gitTimeoutMs?: number;
  /** Newest commits of the branch searched for a job's idempotency key; default 500. */
  idempotencyLookback?: number;
  clock?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: GitOpsLogger;
  hooks?: GitOpsHooks;
}

export interface ApplyChangeRequest extends CommitRequest {
  /** The repository binding as stored (validated again here). */
  binding: GitBindingInput;
  change: GitOpsChange;
}

const silentLogger: GitOpsLogger = { info: () => {}, warn: () => {} };

/** Any failure as a GitOpsError; stderr was redacted where git produced it. */
const typed = (error: unknown, doing: string) =>
  isGitOpsError(error) ? error : toGitOpsError(error, "read", doing);

export async function createGitOpsEngine(options: GitOpsEngineOptions) {
  const cache = await createWorkdirCache({
    root: options.workRoot,
    maxEntries: options.maxCachedRepositories ?? 32,
  });
  const deps: EngineDeps = {
    cache,
    lock: options.lock,
    clock: options.clock ?? (() => new Date()),
    sleep: options.sleep ?? ((ms) => delay(ms)),
    random: options.random ?? Math.random,
    retry: { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 5_000, ...options.retry },
    gitTimeoutMs: options.gitTimeoutMs ?? 120_000,
    idempotencyLookback: options.idempotencyLookback ?? 500,
    logger: options.logger ?? silentLogger,
    hooks: options.hooks ?? {},
  };

  return {
    /**
     * Checks a binding before it is saved: remote reachable and readable, branch present (or
     * creatable), credential allowed to push. Never throws for a bad binding: returns the reason.
     */
    async validateBinding(input: GitBindingInput): Promise<ValidationResult> {
      try {
        const binding = parseBinding(input);
        const session = await openGitSession(binding, cache.scratchDir, deps.gitTimeoutMs);
        try {
          return await validateInScratch(session.context, cache.scratchDir, binding);
        } finally {
          await session.close();
        }
      } catch (error) {
        const failure = typed(error, "validation");
        return { ok: false, reason: failure.reason, message: failure.message };
      }
    },

    /**
     * Applies one change as one commit and pushes it, holding the branch's lock. Throws
     * GitOpsError (see `reason` and `retryable`). Safe to call again for the same job after any
     * failure or crash: see the README's "Crash-safety contract".
     */
    async applyChange(request: ApplyChangeRequest): Promise<ApplyResult> {
      const binding = parseBinding(request.binding);
      const parsed = GitOpsChange.safeParse(request.change);
      if (!parsed.success)
        throw new GitOpsError("InvalidRequest", `invalid change: ${parsed.error.issues[0]?.message}`);
      const key = repoLockKey(binding.url, binding.branch);
      const remote = describeRemote(binding);
      try {
        const result = await deps.lock.withLock(key, () =>
          cache.use(key, async (dir) => {
            const session = await openGitSession(binding, cache.scratchDir, deps.gitTimeoutMs);
            try {
              return await applyInClone(deps, session.context, dir, {
                ...request,
                binding,
                change: parsed.data,
              });
            } finally {
              await session.close();
            }
          }),
        );
        deps.logger.info({ remote, jobId: request.jobId, ...result }, "gitops change applied");
        return result;
      } catch (error) {
        const failure = typed(error, `applying a change to ${remote}`);
        deps.logger.warn({ remote, jobId: request.jobId, reason: failure.reason }, failure.message);
        throw failure;
      }
    },

    /** Keys (`gitops:<url>#<branch>`) of the clones on disk, least recently used first. */
    cachedRepositories: () => cache.keys(),

    /** Waits for running operations, then removes this engine's clones. */
    close: () => cache.close(),
  };
}

export type GitOpsEngine = Awaited<ReturnType<typeof createGitOpsEngine>>;
