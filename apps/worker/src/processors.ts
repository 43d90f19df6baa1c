import type { WorkerDeps } from "./deps.ts";
import type { ProcessorMap } from "./runtime.ts";

/** Every processor of this worker, by queue and job name. */
export function processorsFor(_deps: WorkerDeps): ProcessorMap {
  return {};
}

/** Repeatable maintenance jobs (idempotent: BullMQ job schedulers upsert by id). */
export async function schedulesFor(_deps: WorkerDeps): Promise<void> {}
