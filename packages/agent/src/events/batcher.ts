import type { AgentEvent } from "@vwksp/protocol";
import { systemTiming, type Timing } from "../clock.ts";
import { retryDelay } from "../retry.ts";

export const MAX_BATCH = 100;
export const MAX_BUFFER = 1_000;
export const FLUSH_INTERVAL_MS = 1_000;

export interface EventBatcherOptions {
  /** Delivers one batch; throws to keep the events for a later try. */
  send(events: AgentEvent[], signal: AbortSignal): Promise<void>;
  /** True when a failed batch must be dropped instead of retried (e.g. the server said 400). */
  isPoison?(error: unknown): boolean;
  /** The BufferOverflow condition event for `dropped` lost events (`undefined` dropped = cleared). */
  overflowEvent(dropped: number | undefined): AgentEvent;
  timing?: Timing;
  maxBatch?: number;
  maxBuffer?: number;
  flushIntervalMs?: number;
  log?: (message: string) => void;
  /** Counts for the agent's metrics: delivered, refused (poison) and lost to overflow. */
  onSent?(count: number): void;
  onRefused?(count: number): void;
  onDropped?(count: number): void;
}

/**
 * Outbound events, flushed every second or as soon as a full batch is waiting. The buffer is
 * bounded: when the control plane is unreachable for long, the oldest events go first and a
 * BufferOverflow condition says how many were lost. The overflow report is built at flush
 * time, outside the buffer, so it cannot itself be dropped.
 */
export function createEventBatcher(options: EventBatcherOptions) {
  const timing = options.timing ?? systemTiming;
  const maxBatch = options.maxBatch ?? MAX_BATCH;
  const maxBuffer = options.maxBuffer ?? MAX_BUFFER;
  const interval = options.flushIntervalMs ?? FLUSH_INTERVAL_MS;
  let buffer: AgentEvent[] = [];
  let dropped = 0;
  let overflowOpen = false;
  let failures = 0;
  let lastError: unknown;
  let kick = new AbortController();
  const stopping = new AbortController();
  // Aborts a send in flight when stop() runs out of time.
  const giveUp = new AbortController();
  let loop: Promise<void> | undefined;
  let flushing: Promise<boolean> | undefined;

  function trim() {
    const excess = buffer.length - maxBuffer;
    if (excess <= 0) return;
    buffer = buffer.slice(excess);
    dropped += excess;
    options.onDropped?.(excess);
    overflowOpen = true;
  }

  function enqueue(...events: AgentEvent[]) {
    buffer.push(...events);
    trim();
    if (buffer.length >= maxBatch) kick.abort();
  }

  /** One batch; true when it was delivered (or there was nothing to send). */
  function flushOnce(): Promise<boolean> {
    flushing ??= (async () => {
      const report = dropped > 0 ? [options.overflowEvent(dropped)] : [];
      const batch = buffer.slice(0, maxBatch - report.length);
      if (batch.length === 0 && report.length === 0) return true;
      buffer = buffer.slice(batch.length);
      try {
        await options.send([...report, ...batch], giveUp.signal);
      } catch (error) {
        if (options.isPoison?.(error)) {
          options.onRefused?.(report.length + batch.length);
          options.log?.(`dropped ${batch.length} event(s) the control plane refused: ${String(error)}`);
          return false;
        }
        // Back to the front, in order; whatever no longer fits counts as dropped.
        buffer = [...batch, ...buffer];
        trim();
        throw error;
      }
      options.onSent?.(report.length + batch.length);
      if (report.length > 0) dropped = 0;
      if (overflowOpen && dropped === 0 && buffer.length === 0) {
        overflowOpen = false;
        enqueue(options.overflowEvent(undefined));
      }
      return true;
    })().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  async function run() {
    while (!stopping.signal.aborted) {
      const wait =
        failures > 0 ? Math.max(interval, retryDelay(lastError, failures - 1, timing.random)) : interval;
      if (buffer.length < maxBatch || failures > 0) {
        kick = new AbortController();
        await timing.sleep(wait, AbortSignal.any([kick.signal, stopping.signal]));
      }
      if (stopping.signal.aborted) break;
      try {
        await flushOnce();
        failures = 0;
      } catch (error) {
        failures += 1;
        lastError = error;
        options.log?.(`posting ${buffer.length} event(s) failed, will retry: ${String(error)}`);
      }
    }
  }

  return {
    enqueue,
    size: () => buffer.length,
    /** Events lost to overflow since the last delivered report. */
    dropped: () => dropped,
    flushOnce,
    start() {
      loop ??= run();
    },
    /** Stops the timer and sends what is buffered, batch by batch, until done or `deadline`. */
    async stop(deadline: AbortSignal): Promise<boolean> {
      const onDeadline = () => giveUp.abort();
      deadline.addEventListener("abort", onDeadline, { once: true });
      if (deadline.aborted) giveUp.abort();
      try {
        stopping.abort();
        await loop?.catch(() => {});
        while ((buffer.length > 0 || dropped > 0) && !giveUp.signal.aborted) {
          if (!(await flushOnce().catch(() => false))) return false;
        }
        return buffer.length === 0;
      } finally {
        deadline.removeEventListener("abort", onDeadline);
      }
    },
  };
}

export type EventBatcher = ReturnType<typeof createEventBatcher>;
