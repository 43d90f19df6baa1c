/**
 * A value read at most once per `ttlMs` (by `now`) and never twice at once; a failure or a
 * timeout is not cached, so the next call tries again. Metrics read from PostgreSQL or Redis on
 * each scrape go through it: a scrape every few seconds costs one query per `ttlMs`, and a slow
 * dependency costs the scrape `timeoutMs` at most.
 */
export function cachedRead<T>(
  read: () => Promise<T>,
  options: { ttlMs: number; timeoutMs: number; now: () => number },
): () => Promise<T> {
  let cached: { at: number; value: T } | undefined;
  let inflight: Promise<T> | undefined;
  return async () => {
    const now = options.now();
    if (cached && now - cached.at < options.ttlMs) return cached.value;
    inflight ??= read().finally(() => {
      inflight = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        inflight,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer in ${options.timeoutMs} ms`)),
            options.timeoutMs,
          );
        }),
      ]);
      cached = { at: now, value };
      return value;
    } finally {
      clearTimeout(timer);
    }
  };
}
