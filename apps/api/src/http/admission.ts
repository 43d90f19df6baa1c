import { unavailable } from "@vwksp/core";
import type { FastifyReply, FastifyRequest } from "fastify";

interface GateOptions {
  /** Requests let through at once. */
  concurrency: number;
  /** Requests that may wait for a turn; more are refused at once. */
  queue: number;
  /** How long one may wait before it is refused after all. */
  maxWaitMs: number;
  /** Retry-After of a refusal, in seconds. */
  retryAfterSeconds: number;
  /** What the refusal says is busy. */
  what: string;
}

/**
 * Lets `concurrency` requests through at once and up to `queue` more wait their turn; the rest,
 * and those that waited `maxWaitMs`, get 503 with Retry-After (which the operator honours).
 * Used as an onRequest hook, before the body is read: a request waiting here holds a socket,
 * not its body, so memory stays bounded by what is let through.
 */
export function createAdmissionGate(options: GateOptions) {
  let active = 0;
  const waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];
  const refusal = () =>
    unavailable(
      `${options.what} is busy, retry after ${options.retryAfterSeconds} s`,
      options.retryAfterSeconds,
    );

  function leave() {
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    } else {
      active -= 1;
    }
  }

  function enter(): Promise<void> {
    if (active < options.concurrency) {
      active += 1;
      return Promise.resolve();
    }
    if (waiting.length >= options.queue) return Promise.reject(refusal());
    return new Promise((resolve, reject) => {
      const entry = {
        admit: resolve,
        timer: setTimeout(() => {
          waiting.splice(waiting.indexOf(entry), 1);
          reject(refusal());
        }, options.maxWaitMs),
      };
      waiting.push(entry);
    });
  }

  /** onRequest hook: waits for a turn, which ends when the response is done or the client left. */
  async function admit(request: FastifyRequest, reply: FastifyReply) {
    try {
      await enter();
    } catch (error) {
      // The body is not read: closing the connection after the answer spares reading it only
      // to throw it away (Node reads what is left of a request to reuse its connection).
      reply.header("connection", "close");
      throw error;
    }
    let left = false;
    const leaveOnce = () => {
      if (left) return;
      left = true;
      leave();
    };
    if (reply.raw.closed || request.raw.destroyed) leaveOnce();
    else reply.raw.once("close", leaveOnce);
  }

  return { admit, stats: () => ({ active, waiting: waiting.length }) };
}
