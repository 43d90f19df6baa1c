import { type ClosedJobState, JobOutcome } from "@vwksp/protocol";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

// The metric families the API and the worker both export, and the shapes their own families
// repeat. Each process keeps a registry of its own (tests build many in one process); names,
// help texts and labels are what the Grafana dashboard (deploy/grafana) queries.

/** How jobs end, as counted: the agent's outcomes and the service's (a cancel is an admin's act). */
export const JOB_OUTCOMES = [
  ...JobOutcome.options,
  "expired",
  "undeliverable",
] as const satisfies readonly ClosedJobState[];

interface FamilySpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** A process's registry, and its runtime metrics switched on where the process is scraped. */
export function createMetricsRegistry() {
  const registry = new Registry();
  let processMetrics = false;
  return {
    registry,
    /** CPU, memory, event loop, GC: only where the process is scraped (it starts a sampler). */
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
  };
}

/** A counter in `registry`. */
export function counter<L extends string = never>(registry: Registry, spec: FamilySpec<L>) {
  return new Counter<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
}

/** A gauge in `registry`, set when something happens or before each scrape. */
export function gauge<L extends string = never>(registry: Registry, spec: FamilySpec<L>) {
  return new Gauge<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
}

/** A histogram in `registry`, over `buckets` (seconds, as every duration here). */
export function histogram<L extends string = never>(
  registry: Registry,
  spec: FamilySpec<L> & { buckets: number[] },
) {
  return new Histogram<L>({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
}

/** An unlabelled gauge that reads its value when scraped. */
export function readGauge(registry: Registry, spec: { name: string; help: string; read: () => number }) {
  const { read, ...family } = spec;
  return new Gauge({
    ...family,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A counter that follows a cumulative count kept elsewhere: each scrape adds what it grew by. */
export function cumulativeCounter(
  registry: Registry,
  spec: {
    name: string;
    help: string;
    label: string;
    initial: readonly string[];
    read: () => ReadonlyMap<string, number>;
  },
) {
  const counted = new Map<string, number>();
  const family = new Counter({
    name: spec.name,
    help: spec.help,
    labelNames: [spec.label],
    registers: [registry],
    collect() {
      for (const [value, total] of spec.read()) {
        const grown = total - (counted.get(value) ?? 0);
        if (grown > 0) family.inc({ [spec.label]: value }, grown);
        counted.set(value, total);
      }
    },
  });
  for (const value of spec.initial) family.inc({ [spec.label]: value }, 0);
  return family;
}

/** Jobs closed, by outcome: the API counts the agents' results, the worker the sweep's verdicts. */
export function jobsFinishedCounter(registry: Registry) {
  return counter(registry, {
    name: "vwksp_jobs_finished_total",
    help: "Jobs closed, by outcome: the agent's result, or expired/undeliverable by the service.",
    labelNames: ["outcome"],
  });
}

/** Where a failed scrape-time read is told (pino's and Fastify's loggers alike). */
interface ScrapeLog {
  warn(fields: { err: unknown }, message: string): void;
}

/**
 * The reads a scrape makes from PostgreSQL or Redis: one that fails is logged and counted in
 * vwksp_metrics_scrape_errors_total (`help` says which gauges), and its gauges are left out of
 * that scrape rather than failing it.
 */
export function scrapeReads(registry: Registry, help: string) {
  const failures = counter(registry, { name: "vwksp_metrics_scrape_errors_total", help });
  return {
    async attempt(log: ScrapeLog, failure: string, read: () => Promise<void>) {
      try {
        await read();
      } catch (error) {
        failures.inc();
        log.warn({ err: error }, failure);
      }
    },
  };
}
