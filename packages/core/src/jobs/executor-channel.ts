import type { AgentJob, JobResultBody } from "@vwksp/protocol";
import type { ApplicationsService } from "../applications/applications.service.ts";
import type { Clock } from "../clock.ts";
import type { Cluster, Db } from "../db.ts";
import { DomainError } from "../errors.ts";
import type { DeliveryChannel, DeliveryService } from "./delivery.service.ts";

/** A connectivity mode whose jobs the control plane performs itself. */
export type ExecutorMode = Exclude<DeliveryChannel, "pull">;

/**
 * Performs jobs of clusters in one connectivity mode, with the operator's semantics: the same
 * payloads, the same outcomes (`JobResultBody`), idempotent by the job's idempotency key (a job
 * may be performed again after a worker died mid-way). Throws `RetryLater` for a passing failure
 * (the API server or Git remote unreachable, a 5xx, a rejected push); anything else it throws
 * fails the job with the error's message.
 */
export interface JobExecutor {
  execute(job: AgentJob, cluster: Cluster): Promise<JobResultBody>;
}

/** A passing failure: the job is performed again after a backoff, within its max deliveries. */
export class RetryLater extends Error {
  override readonly name = "RetryLater";
  constructor(
    message: string,
    /** At least this long before the next attempt (the backoff grows from it). */
    readonly afterMs?: number,
    /**
     * `countsAsDelivery: false` for the cluster's trouble rather than the job's (its API server
     * unreachable, its credential refused or missing): the attempt does not use up one of
     * JOB_MAX_DELIVERIES, so an outage longer than the backoffs does not make jobs
     * undeliverable; the job's expiry bounds the wait, and `afterMs` spaces the attempts.
     */
    readonly options: { countsAsDelivery?: boolean } = {},
  ) {
    super(message);
  }
}

export interface DrainOutcome {
  /** Jobs given a result in this drain. */
  finished: number;
  /** When the cluster needs another drain (a backoff, or a job in flight elsewhere). */
  again?: Date;
}

interface Deps {
  db: Db;
  clock: Clock;
  delivery: DeliveryService;
  applications: Pick<ApplicationsService, "jobsClosed">;
  executors: Partial<Record<ExecutorMode, JobExecutor>>;
  /** First retry after this long, doubling per delivery, at most `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Jobs one drain performs at most before it yields (the next drain goes on). */
  maxJobsPerDrain?: number;
}

/**
 * The delivery channel of `push` and `gitops` clusters: where a `pull` cluster's operator
 * long-polls, the worker drains these clusters' mailboxes itself — claim (the same statement,
 * on the channel of the cluster's mode), ack, perform through the mode's executor, result (the
 * same statement as an agent's). One job of a cluster at a time, oldest first: a job in flight
 * or backing off holds the line, so per-cluster order is the order of the requests.
 */
export function createExecutorChannel({
  db,
  clock,
  delivery,
  applications,
  executors,
  baseBackoffMs = 2_000,
  maxBackoffMs = 300_000,
  maxJobsPerDrain = 50,
}: Deps) {
  const backoffMs = (deliveries: number, floorMs = 0) =>
    Math.max(floorMs, Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.max(0, deliveries - 1)));

  async function drain(clusterId: string): Promise<DrainOutcome> {
    let finished = 0;
    while (finished < maxJobsPerDrain) {
      const cluster = await db.cluster.findUnique({ where: { id: clusterId } });
      if (!cluster || cluster.connectivityMode === "pull") return { finished };
      const mode = cluster.connectivityMode;
      const executor = executors[mode];
      // Jobs of a mode no executor serves here wait, ready, for a worker that has one.
      if (!executor) return { finished };
      const inFlight = await delivery.inFlightUntil(clusterId);
      if (inFlight) return { finished, again: inFlight };
      const [job] = await delivery.claim(clusterId, { channel: mode, limit: 1 });
      if (!job) return { finished };
      await delivery.ack(clusterId, job.id);
      let body: JobResultBody;
      try {
        body = await executor.execute(job, cluster);
      } catch (error) {
        if (error instanceof RetryLater) {
          const counts = error.options.countsAsDelivery !== false;
          const deliveries = counts ? await deliveriesOf(job.id) : 1;
          const at = new Date(clock.now().getTime() + backoffMs(deliveries, error.afterMs));
          await delivery.retryLater(clusterId, job.id, at, `retrying: ${error.message}`, !counts);
          return { finished, again: at };
        }
        body = { outcome: "failed", error: (error as Error).message || String(error) };
      }
      try {
        const { settlesApplication } = await delivery.result(clusterId, job.id, body);
        if (settlesApplication) await applications.jobsClosed([job.id]);
      } catch (error) {
        // Cancelled (or expired) while it ran: the job is closed already, nothing to record.
        if (!(error instanceof DomainError && error.statusCode === 409)) throw error;
      }
      finished += 1;
    }
    return { finished, again: clock.now() };
  }

  async function deliveriesOf(jobId: string): Promise<number> {
    const row = await db.job.findUnique({ where: { id: jobId }, select: { deliveries: true } });
    return row?.deliveries ?? 1;
  }

  /** Clusters whose mailbox an executor here should drain now (the backstop sweep). */
  async function clustersToDrain(): Promise<string[]> {
    const rows = await delivery.executorClusters();
    return rows
      .filter((row) => row.mode !== "pull" && executors[row.mode as ExecutorMode])
      .map((row) => row.clusterId);
  }

  return { drain, clustersToDrain, modes: Object.keys(executors) as ExecutorMode[] };
}

export type ExecutorChannel = ReturnType<typeof createExecutorChannel>;
