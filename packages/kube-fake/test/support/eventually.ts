import { vi } from "vitest";

/**
 * Retries an assertion until it holds. The bound is generous because the machine's cores are
 * shared: an event that takes milliseconds alone can take seconds under load.
 */
export const eventually = <T>(assertion: () => T) => vi.waitFor(assertion, { timeout: 15_000, interval: 20 });
