/**
 * Mutual exclusion per repository branch across every worker. The push itself is a
 * compare-and-swap (see push.ts), so correctness never depends on the lock; the lock keeps
 * workers from racing each other into rejected pushes and retries, and orders their commits.
 */
export interface RepoLock {
  /** Runs `work` while holding the lock for `key`; throws GitOpsError `LockTimeout` when it waits too long. */
  withLock<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * The lock key of a branch: the same repository spelled with or without `.git`, a trailing slash or
 * another letter case in the host maps to one key.
 */
export function repoLockKey(url: string, branch: string): string {
  const withoutSuffix = url
    .trim()
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
  const normalized = withoutSuffix.replace(
    /^([a-z+]+:\/\/)?([^/:]+)/i,
    (_match, scheme = "", host: string) => `${String(scheme).toLowerCase()}${host.toLowerCase()}`,
  );
  return `gitops:${normalized}#${branch}`;
}

/** A lock for one process only (tests, or a deployment with a single worker process). */
export function createProcessLock(): RepoLock {
  const tails = new Map<string, Promise<void>>();
  return {
    async withLock(key, work) {
      const previous = tails.get(key) ?? Promise.resolve();
      let release = () => {};
      const tail = new Promise<void>((resolve) => {
        release = resolve;
      });
      tails.set(key, tail);
      await previous;
      try {
        return await work();
      } finally {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}
