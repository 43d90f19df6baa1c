/** Time, waiting and randomness come in through deps so tests control them. */
export interface Clock {
  now(): Date;
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts: callers check their own state. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface Timing {
  clock: Clock;
  sleep: Sleep;
  /** Uniform in [0, 1), used for backoff jitter. */
  random: () => number;
}

export const systemClock: Clock = { now: () => new Date() };

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

export const systemTiming: Timing = { clock: systemClock, sleep, random: Math.random };

/** Kubernetes `metav1.Time` is RFC 3339 with second precision. */
export const kubeTime = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
