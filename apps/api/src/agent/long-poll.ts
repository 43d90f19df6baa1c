import { type AgentPrincipal, DomainError } from "@vwksp/core";
import { type AgentJob, MAX_HOLD_SECONDS } from "@vwksp/protocol";
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import { bearerToken } from "../auth/bearer.ts";
import type { ApiDeps } from "../deps.ts";
import { createWaiters, type Waiting } from "./long-poll-waiters.ts";

type LongPollDeps = Pick<ApiDeps, "delivery" | "credentials" | "clock" | "subscribeJobsReady">;

/**
 * The agent's long-poll, whole: `GET /api/agent/jobs` is a thin adapter over `serve`.
 *
 * A poll claims at once; with nothing to hand out it waits (long-poll-waiters.ts) until a
 * wake-up — `jobs-ready` on Redis pub/sub, subscribed by `start` once the app is ready — or the
 * slow re-check claims for it, or its time runs out.
 *
 * Credentials: the route authenticated the poll (a cache hit nearly always). A revocation, a
 * rotation or a disabled cluster invalidates the cluster's credentials on every process; each
 * poll of that cluster then checks its credential again, and one that no longer works ends at
 * once with that answer (401 or 403). An invalidation between authentication and tracking is
 * caught by comparing invalidation counts. Dropping the whole cache (after a gap in the
 * messages) re-checks no poll: each checks its credential again before jobs found by waiting go
 * out on it.
 *
 * A poll whose client goes away stops waiting, and jobs leased to it go back to `ready` at once
 * — claimed for a socket already closed, or answered on one that closed before the answer was
 * written — instead of waiting for their lease to run out.
 */
export function createLongPoll(
  deps: LongPollDeps,
  logger: FastifyBaseLogger,
  options: { recheckMs?: number } = {},
) {
  const waiters = createWaiters({
    claim: deps.delivery.claim,
    release: deps.delivery.release,
    claimableAmong: deps.delivery.claimableClusters,
    logger,
    ...(options.recheckMs ? { recheckMs: options.recheckMs } : {}),
  });

  // Nearly always one poll per cluster: the poll itself, not a set of one (a set costs ~200 bytes).
  const byCluster = new Map<string, Poll | Set<Poll>>();
  const pollsOf = (clusterId: string): Iterable<Poll> => {
    const entry = byCluster.get(clusterId);
    return entry instanceof Set ? entry : entry ? [entry] : [];
  };
  /** Invalidations this process heard; a poll authenticated before the last one checks again. */
  let invalidations = 0;
  const authenticatedAt = new WeakMap<FastifyRequest, number>();
  const recheck = new Set<string>();

  /**
   * What a credential gets now: a refusal (401 or 403), or when it stops working (a rotation
   * gives the old one a grace period). A database hiccup is no verdict.
   */
  async function check(token: string): Promise<{ refusal?: Error; expiresAt?: number | null }> {
    try {
      return { expiresAt: (await deps.credentials.authenticate(token)).expiresAt };
    } catch (error) {
      const verdict = error instanceof DomainError && (error.statusCode === 401 || error.statusCode === 403);
      return verdict ? { refusal: error } : {};
    }
  }
  const refusalOf = async (token: string) => (await check(token)).refusal;

  function release(clusterId: string, jobs: AgentJob[]) {
    if (jobs.length === 0) return Promise.resolve();
    return deps.delivery.release(
      clusterId,
      jobs.map((job) => job.id),
    );
  }

  /** One poll. A class, so the thousands that wait share their methods (bench/polls). */
  class Poll {
    /** Why the poll's credential stopped working while it waited (401 or 403). */
    refusal: Error | undefined;
    /** The client went away before its answer was written. */
    gone = false;
    private waiting: Waiting | undefined;
    /** Jobs in the answer being written: they go back if the connection closes before it is. */
    private delivering: AgentJob[] = [];

    constructor(
      readonly clusterId: string,
      private readonly request: FastifyRequest,
      private readonly reply: FastifyReply,
    ) {
      if (reply.raw.destroyed) this.gone = true;
      else reply.raw.once("close", () => this.closed());
    }

    /** Read from the request when needed rather than kept: one string less per waiting poll. */
    get token(): string {
      return bearerToken(this.request) ?? "";
    }

    refuse(error: Error) {
      this.refusal ??= error;
      this.waiting?.leave();
    }

    /** The credential now ends at `expiresAt` (rotated away while this poll waited): so does the wait. */
    endBy(expiresAt: number) {
      const waiting = this.waiting;
      if (!waiting) return;
      setTimeout(() => waiting.leave(), Math.max(0, expiresAt - deps.clock.now().getTime())).unref();
    }

    private closed() {
      if (!this.reply.sent) {
        // Before the answer: the client went away while it waited.
        this.gone = true;
        this.waiting?.leave();
        return;
      }
      // After it: its jobs go back unless the answer was handed to the operating system.
      const undelivered = this.delivering;
      this.delivering = [];
      release(this.clusterId, undelivered).catch((error: unknown) =>
        this.request.log.warn({ err: error }, "could not release jobs of a poll whose client went away"),
      );
    }

    /** Waits up to `seconds` for jobs (or until the client goes away or is refused). */
    async wait(seconds: number): Promise<AgentJob[]> {
      if (this.gone || this.refusal) return [];
      this.waiting = waiters.wait(this.clusterId, seconds);
      const jobs = await this.waiting.jobs;
      this.waiting = undefined;
      return jobs;
    }

    /**
     * The jobs to answer with, or a refusal: jobs go out only to a client still there, on a
     * credential that still works (checked again when they came after a wait), and come back
     * to `ready` otherwise.
     */
    async answer(jobs: AgentJob[], checkCredential: boolean): Promise<AgentJob[]> {
      const refusal =
        this.refusal ??
        (checkCredential && jobs.length > 0 && !this.gone ? await refusalOf(this.token) : undefined);
      if (this.gone || refusal) {
        await release(this.clusterId, jobs);
        if (refusal) throw refusal;
        return [];
      }
      if (jobs.length > 0) {
        this.delivering = jobs;
        // Handed to the operating system: from here on, a lost answer is the lease's to redeliver.
        this.reply.raw.once("finish", () => {
          this.delivering = [];
        });
      }
      return jobs;
    }
  }

  function track(poll: Poll) {
    const entry = byCluster.get(poll.clusterId);
    if (entry instanceof Set) entry.add(poll);
    else byCluster.set(poll.clusterId, entry ? new Set([entry, poll]) : poll);
  }

  function untrack(poll: Poll) {
    const entry = byCluster.get(poll.clusterId);
    if (entry === poll) byCluster.delete(poll.clusterId);
    else if (entry instanceof Set) {
      entry.delete(poll);
      if (entry.size === 0) byCluster.delete(poll.clusterId);
    }
  }

  function recheckPolls() {
    const clusters = [...recheck];
    recheck.clear();
    for (const clusterId of clusters) {
      for (const poll of pollsOf(clusterId)) {
        check(poll.token).then(({ refusal, expiresAt }) => {
          if (refusal) poll.refuse(refusal);
          else if (typeof expiresAt === "number") poll.endBy(expiresAt);
        });
      }
    }
  }
  const stopListening = deps.credentials.onInvalidate((clusterId) => {
    invalidations++;
    if (clusterId === null || !byCluster.has(clusterId)) return;
    if (recheck.size === 0) setImmediate(recheckPolls);
    recheck.add(clusterId);
  });

  return {
    /** onRequest, before the poll's authentication: remembers what invalidations it has seen. */
    beforeAuthentication(request: FastifyRequest) {
      authenticatedAt.set(request, invalidations);
    },

    /**
     * Answers one authenticated poll: the jobs leased to it (maybe after waiting up to
     * `requestedWait` seconds, bounded by MAX_HOLD_SECONDS and the credential's expiry), or
     * `undefined` when the client went away and nobody is there to answer. Throws the refusal
     * (401/403) of a credential that stopped working meanwhile.
     */
    async serve(
      agent: AgentPrincipal,
      request: FastifyRequest,
      reply: FastifyReply,
      requestedWait: number,
    ): Promise<AgentJob[] | undefined> {
      const poll = new Poll(agent.clusterId, request, reply);
      track(poll);
      try {
        // An invalidation between authentication and tracking would be missed otherwise.
        if (invalidations !== authenticatedAt.get(request)) {
          const refusedEarly = await refusalOf(poll.token);
          if (refusedEarly) throw refusedEarly;
        }
        const claimed = await deps.delivery.claim(agent.clusterId);
        // A credential that expires during the wait ends it then; the next poll hears 401.
        const secondsLeft =
          agent.expiresAt === null ? MAX_HOLD_SECONDS : (agent.expiresAt - deps.clock.now().getTime()) / 1000;
        const wait = Math.min(requestedWait, MAX_HOLD_SECONDS, secondsLeft);
        const waited = claimed.length === 0 && wait > 0;
        const jobs = await poll.answer(waited ? await poll.wait(wait) : claimed, waited);
        return poll.gone ? undefined : jobs;
      } finally {
        untrack(poll);
      }
    },

    /** Subscribes to `jobs-ready`: each message wakes the named clusters' waiting polls here. */
    start: () => deps.subscribeJobsReady((clusterId) => void waiters.wake(clusterId)),
    stats: waiters.stats,

    /** Answers every waiting poll with no jobs and stops listening (graceful shutdown). */
    close() {
      waiters.close();
      stopListening();
    },
  };
}

export type LongPoll = ReturnType<typeof createLongPoll>;
