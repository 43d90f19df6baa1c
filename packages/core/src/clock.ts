/** Time comes in through deps so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can set and advance. */
export function manualClock(start = new Date("2026-01-01T00:00:00Z")) {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    set: (date: Date) => {
      current = date.getTime();
    },
    advance: (ms: number) => {
      current += ms;
    },
  };
}

/** RFC 3339 (UTC, `Z`) for API answers; null stays null. */
export const isoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);
