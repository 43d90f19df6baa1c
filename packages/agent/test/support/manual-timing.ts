import type { Timing } from "../../src/clock.ts";

const settle = async () => {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Time that moves only when the test says so; sleeps wake in order of their due time. */
export function manualTiming(start = Date.parse("2026-11-27T08:00:00Z")) {
  let now = start;
  const timers = new Set<{ due: number; wake: () => void }>();
  const timing: Timing = {
    clock: { now: () => new Date(now) },
    random: () => 0.5,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = { due: now + ms, wake: () => {} };
        timer.wake = () => {
          timers.delete(timer);
          signal?.removeEventListener("abort", timer.wake);
          resolve();
        };
        timers.add(timer);
        signal?.addEventListener("abort", timer.wake, { once: true });
      }),
  };
  return {
    timing,
    settle,
    pendingSleeps: () => [...timers].map((timer) => timer.due - now),
    async advance(ms: number) {
      const target = now + ms;
      await settle();
      for (;;) {
        const next = [...timers].filter((timer) => timer.due <= target).sort((a, b) => a.due - b.due)[0];
        if (!next) break;
        now = next.due;
        next.wake();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}
