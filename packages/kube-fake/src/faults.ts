/**
 * Trouble a test asks for on matching requests: a Status answer (5xx, 409, …), a delay before
 * the real answer, no answer at all (the client times out), or a connection reset.
 */
export interface Fault {
  method?: string;
  /** Matched against the path without the query; a string must match exactly. */
  path?: string | RegExp;
  /** How many requests it affects; unlimited when absent. */
  times?: number;
  /**
   * A Status answer. `retryAfterSeconds` goes where the API server puts it on 429 and 5xx
   * answers: `details.retryAfterSeconds` and the `Retry-After` header.
   */
  respond?: { code: number; reason?: string; message?: string; retryAfterSeconds?: number };
  delayMs?: number;
  hang?: boolean;
  reset?: boolean;
}

export type FaultRegistry = ReturnType<typeof createFaultRegistry>;

export function createFaultRegistry() {
  let faults: (Fault & { left: number })[] = [];

  const applies = (fault: Fault, method: string, path: string) =>
    (fault.method === undefined || fault.method === method) &&
    (fault.path === undefined ||
      (typeof fault.path === "string" ? fault.path === path : fault.path.test(path)));

  return {
    /** Adds a fault; the returned function removes it. */
    add(fault: Fault) {
      const entry = { ...fault, left: fault.times ?? Number.POSITIVE_INFINITY };
      faults.push(entry);
      return () => {
        faults = faults.filter((f) => f !== entry);
      };
    },
    /** The first fault for this request, used up by one. */
    take(method: string, path: string): Fault | undefined {
      const fault = faults.find((f) => applies(f, method, path));
      if (!fault) return undefined;
      fault.left -= 1;
      if (fault.left <= 0) faults = faults.filter((f) => f !== fault);
      return fault;
    },
    clear() {
      faults = [];
    },
  };
}
