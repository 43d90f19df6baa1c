import { DomainError } from "@vwksp/core";
import type { AgentJob } from "@vwksp/protocol";
import type { FastifyReply, FastifyRequest } from "fastify";
import { bearerToken } from "../auth/bearer.ts";
import type { ApiDeps } from "../deps.ts";
import type { LongPollHub, Waiting } from "./long-poll.ts";

/**
 * The agent long-polls in progress in this process, by cluster.
 *
 * A revocation, a rotation or a disabled cluster invalidates the cluster's credentials on every
 * process; each of its polls then checks its credential again, and one that no longer works ends
 * at once with that answer (401 or 403). Invalidations of one tick are handled once. Dropping the
 * whole cache (after a gap in the messages) re-checks no poll here: each checks its credential
 * again before jobs go out on it (see the route).
 *
 * A poll whose client goes away stops waiting, and jobs leased to it go back to `ready` at once
 * — claimed for a socket already closed, or answered on one that closed before the answer was
 * written — instead of waiting for their lease to run out.
 */
export function createPolls(deps: ApiDeps, longPoll: LongPollHub) {
  // Nearly always one poll per cluster: the poll itself, not a set of one (a set costs ~200 bytes).
  const byCluster = new Map<string, Poll | Set<Poll>>();
  const pollsOf = (clusterId: string): Iterable<Poll> => {
    const entry = byCluster.get(clusterId);
    return entry instanceof Set ? entry : entry ? [entry] : [];
  };
  const recheck = new Set<string>();

  /** The refusal a credential now gets (401 or 403), if any; a database hiccup is no verdict. */
  async function refusalOf(token: string): Promise<Error | undefined> {
    try {
      await deps.credentials.authenticate(token);
      return undefined;
    } catch (error) {
      const verdict = error instanceof DomainError && (error.statusCode === 401 || error.statusCode === 403);
      return verdict ? error : undefined;
    }
  }

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
      this.waiting = longPoll.wait(this.clusterId, seconds);
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

  function recheckPolls() {
    const clusters = [...recheck];
    recheck.clear();
    for (const clusterId of clusters) {
      for (const poll of pollsOf(clusterId)) {
        refusalOf(poll.token).then((refusal) => refusal && poll.refuse(refusal));
      }
    }
  }
  const stopListening = deps.credentials.onInvalidate((clusterId) => {
    if (clusterId === null || !byCluster.has(clusterId)) return;
    if (recheck.size === 0) setImmediate(recheckPolls);
    recheck.add(clusterId);
  });

  return {
    refusalOf,
    /** Tracks a poll from its start: an invalidation that arrives from now on reaches it. */
    start(clusterId: string, request: FastifyRequest, reply: FastifyReply): Poll {
      const poll = new Poll(clusterId, request, reply);
      const entry = byCluster.get(clusterId);
      if (entry instanceof Set) entry.add(poll);
      else byCluster.set(clusterId, entry ? new Set([entry, poll]) : poll);
      return poll;
    },
    end(poll: Poll) {
      const entry = byCluster.get(poll.clusterId);
      if (entry === poll) byCluster.delete(poll.clusterId);
      else if (entry instanceof Set) {
        entry.delete(poll);
        if (entry.size === 0) byCluster.delete(poll.clusterId);
      }
    },
    close: stopListening,
  };
}
