/**
 * How job state changes leave the database (implemented by the apps on BullMQ and pub/sub).
 * Both are hints: a lost signal costs latency, never a job — the reconciler re-enqueues
 * `queued` jobs and polls re-check on a timer.
 */
export interface JobSignals {
  /** New `queued` jobs for the dispatch worker. */
  jobsQueued(jobIds: string[]): Promise<void>;
  /** Jobs became claimable for these (pull) clusters: wake their waiting polls. */
  jobsReady(clusterIds: string[]): Promise<void>;
  /** Jobs became claimable for these push or GitOps clusters: drain them with their executor. */
  jobsToExecute(clusterIds: string[]): Promise<void>;
}

export const noSignals: JobSignals = {
  jobsQueued: async () => {},
  jobsReady: async () => {},
  jobsToExecute: async () => {},
};
