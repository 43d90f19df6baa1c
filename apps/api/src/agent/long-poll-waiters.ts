import type { AgentJob } from "@vwksp/protocol";
import type { FastifyBaseLogger } from "fastify";

/** A poll waiting for jobs, as its handler sees it. */
export interface Waiting {
  /** The jobs leased to this poll, or [] (time ran out, `leave`, shutdown). */
  readonly jobs: Promise<AgentJob[]>;
  /** Stops waiting (the client went away, its credential stopped working): `jobs` is []. */
  leave(): void;
}

interface WaitersOptions {
  /** Leases claimable jobs of a cluster (the delivery service's claim). */
  claim: (clusterId: string) => Promise<AgentJob[]>;
  /** Returns leased jobs to `ready` (claimed for a poll whose client went away). */
  release: (clusterId: string, jobIds: string[]) => Promise<void>;
  /** Which of these clusters have claimable jobs now (for the slow re-check). */
  claimableAmong: (clusterIds: string[]) => Promise<string[]>;
  logger: FastifyBaseLogger;
  /** How often waiting polls re-check without a wake-up (lost messages, lapsed leases). */
  recheckMs?: number;
}

/**
 * The waiting half of the long-poll (see long-poll.ts): polls of this process that found no job,
 * by cluster. A wake-up (Redis pub/sub, one subscriber for the whole process) or the slow
 * re-check makes the process claim for the oldest waiter of that cluster. No Redis connection,
 * timer chain or BullMQ worker per waiter.
 */
export function createWaiters({ claim, release, claimableAmong, logger, recheckMs = 2_000 }: WaitersOptions) {
  const waiting = new Map<string, Waiter[]>();
  const draining = new Set<string>();
  let closed = false;

  function remove(waiter: Waiter) {
    const list = waiting.get(waiter.clusterId);
    if (!list) return;
    const index = list.indexOf(waiter);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) waiting.delete(waiter.clusterId);
  }

  /** Hands claimable jobs of the cluster to its waiters, oldest first, one claim at a time. */
  async function wake(clusterId: string) {
    if (draining.has(clusterId)) return;
    draining.add(clusterId);
    try {
      for (;;) {
        const waiter = waiting.get(clusterId)?.[0];
        if (!waiter) return;
        waiter.claiming = true;
        let jobs: AgentJob[];
        try {
          jobs = await claim(clusterId);
        } finally {
          waiter.claiming = false;
        }
        if (waiter.gone) {
          // Nobody will read these: put them back at once instead of letting the lease run out.
          remove(waiter);
          if (jobs.length > 0)
            await release(
              clusterId,
              jobs.map((job) => job.id),
            );
          continue;
        }
        if (jobs.length === 0 && !waiter.expired) return;
        remove(waiter);
        waiter.finish(jobs);
        if (jobs.length === 0) return;
      }
    } catch (error) {
      logger.warn({ err: error, clusterId }, "claim for a waiting poll failed; the re-check will retry");
    } finally {
      draining.delete(clusterId);
    }
  }

  const timer = setInterval(() => {
    if (waiting.size === 0) return;
    claimableAmong([...waiting.keys()]).then(
      (clusterIds) => {
        for (const clusterId of clusterIds) void wake(clusterId);
      },
      (error: unknown) => logger.warn({ err: error }, "long-poll re-check failed"),
    );
  }, recheckMs);
  timer.unref();

  /**
   * One waiting poll. A class, so the thousands that wait share their methods: a waiting poll
   * costs a few hundred bytes (bench/polls).
   */
  class Waiter implements Waiting {
    readonly jobs: Promise<AgentJob[]>;
    /** A claim for this waiter is running: its timeout must wait for the claim's answer. */
    claiming = false;
    /** The wait ran out during a claim: answer with whatever the claim returns. */
    expired = false;
    /** The client went away (or the process is closing): jobs claimed for it must go back. */
    gone = false;
    private resolve!: (jobs: AgentJob[]) => void;
    private readonly timer: NodeJS.Timeout;

    constructor(
      readonly clusterId: string,
      seconds: number,
    ) {
      this.jobs = new Promise((resolve) => {
        this.resolve = resolve;
      });
      this.timer = setTimeout(expire, seconds * 1000, this);
    }

    finish(jobs: AgentJob[]) {
      clearTimeout(this.timer);
      this.resolve(jobs);
    }

    // During a claim the waiter stays in place: the claim decides what it gets (see wake).
    leave() {
      if (this.gone) return;
      this.gone = true;
      if (!this.claiming) remove(this);
      this.finish([]);
    }
  }

  function expire(waiter: Waiter) {
    if (waiter.claiming) waiter.expired = true;
    else {
      remove(waiter);
      waiter.finish([]);
    }
  }

  /** Waits up to `seconds` for jobs of the cluster (see Waiting). */
  function wait(clusterId: string, seconds: number): Waiting {
    if (closed) return { jobs: Promise.resolve([]), leave: () => {} };
    const waiter = new Waiter(clusterId, seconds);
    const list = waiting.get(clusterId);
    if (list) list.push(waiter);
    else waiting.set(clusterId, [waiter]);
    return waiter;
  }

  /** Answers every waiting poll with no jobs (graceful shutdown). */
  function close() {
    closed = true;
    clearInterval(timer);
    for (const list of [...waiting.values()]) for (const waiter of [...list]) waiter.leave();
  }

  const stats = () => ({
    clusters: waiting.size,
    waiters: [...waiting.values()].reduce((sum, list) => sum + list.length, 0),
  });

  return { wait, wake, close, stats };
}

export type Waiters = ReturnType<typeof createWaiters>;
