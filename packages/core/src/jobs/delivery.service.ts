import {
  type AgentJob,
  CLOSED_JOB_STATES,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  type JobResultBody,
  type JobStatusBody,
} from "@vwksp/protocol";
import { createBatcher } from "../batching.ts";
import type { Clock } from "../clock.ts";
import { type Db, prepared } from "../db.ts";
import { conflict, notFound } from "../errors.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { redactString } from "../redact.ts";
import {
  ACK_SQL,
  CLAIM_SQL,
  CLAIMABLE_SQL,
  EXECUTOR_CLAIMABLE_SQL,
  IN_FLIGHT_SQL,
  RELEASE_SQL,
  RESULT_SQL,
  RETRY_LATER_SQL,
  STATUS_SQL,
} from "./delivery.sql.ts";

/** Jobs handed to one poll at most. */
export const CLAIM_LIMIT = 10;

/** What a claim statement did to one job: leased it (the nth delivery), or closed it. */
export interface ClaimedJob {
  state: string;
  createdAt: Date;
  deliveries: number;
}

interface Deps {
  db: Db;
  clock: Clock;
  leaseSeconds: number;
  ackTimeoutSeconds: number;
  maxDeliveries: number;
  /** Told of every job a claim statement touched, with the statement's time (metrics). */
  onClaimed?: (jobs: readonly ClaimedJob[], at: Date) => void;
  /** Told when a result wrote its JobFinished event (the outbox consumers' hint). */
  notifier?: Pick<ChangeNotifier, "outboxWritten">;
}

interface ClaimedRow {
  id: string;
  kind: AgentJob["kind"];
  payload: Record<string, unknown>;
  idempotencyKey: string;
  createdAt: Date;
  expiresAt: Date;
  signature: string | null;
  state: string;
  deliveries: number;
}

const CLOSED_STATES = new Set<string>(CLOSED_JOB_STATES);

/** Timestamps are `timestamp(3)` in UTC; an ISO string cast to timestamp keeps that exact value. */
const ts = (date: Date) => date.toISOString();
const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

/** No job id holds a NUL (PostgreSQL text cannot): such an id is unknown, not a database error. */
function requirePossibleId(jobId: string) {
  if (jobId.includes("\u0000")) throw notFound(`job ${jobId.replaceAll("\u0000", "\\0")} not found`);
}

function jobClosedOr404(row: { state: string | null } | undefined, jobId: string, closedMessage: string) {
  if (!row?.state) return notFound(`job ${jobId} not found`);
  if (CLOSED_STATES.has(row.state)) return conflict("job_closed", `${closedMessage} (job is ${row.state})`);
  return conflict("job_not_delivered", `job ${jobId} has not been delivered`);
}

type Transition = { state: string | null; updated: boolean };
/** A result also says which intent the job carried (null for apply and delete jobs). */
type ResultTransition = Transition & { intent: string | null };

/** Who claims: the long-polls of `pull` clusters, or the worker's executor of a mode. */
export type DeliveryChannel = "pull" | "push" | "gitops";

interface ClaimRequest {
  clusterId: string;
  limit: number;
  channel: DeliveryChannel;
}

interface ResultRequest {
  clusterId: string;
  jobId: string;
  body: JobResultBody;
}

/**
 * The agent side of the job lifecycle. Every transition is one SQL statement that also writes
 * its audit row, so a crash leaves nothing half-done; concurrent requests share statements.
 */
export function createDeliveryService({
  db,
  clock,
  leaseSeconds,
  ackTimeoutSeconds,
  maxDeliveries,
  onClaimed,
  notifier,
}: Deps) {
  const claims = createBatcher<ClaimRequest, ClaimedRow[]>({
    // Two polls of one cluster in one statement could pick the same job.
    key: (request) => request.clusterId,
    async run(requests) {
      const now = clock.now();
      const rows = await prepared<ClaimedRow & { clusterId: string }>(db, "job_claim", CLAIM_SQL, [
        requests.map((request) => request.clusterId),
        requests.map((request) => request.limit),
        ts(now),
        maxDeliveries,
        ts(addSeconds(now, leaseSeconds)),
        requests.map((request) => request.channel),
      ]);
      if (rows.length > 0) onClaimed?.(rows, now);
      return requests.map((request) => rows.filter((row) => row.clusterId === request.clusterId));
    },
  });

  const acks = createBatcher<{ clusterId: string; jobId: string }, Transition>({
    key: (request) => request.jobId,
    async run(requests) {
      const now = clock.now();
      return prepared<Transition>(db, "job_ack", ACK_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(now),
        ts(addSeconds(now, ackTimeoutSeconds)),
      ]);
    },
  });

  const statuses = createBatcher<{ clusterId: string; jobId: string; body: JobStatusBody }, Transition>({
    // Statuses of one job are stored in the order they came: one per statement.
    key: (request) => request.jobId,
    async run(requests) {
      const now = clock.now();
      return prepared<Transition>(db, "job_status", STATUS_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(now),
        ts(addSeconds(now, ackTimeoutSeconds)),
        requests.map((request) => request.body.phase),
        requests.map((request) => JSON.stringify(request.body.conditions ?? [])),
        requests.map((request) => request.body.message ?? null),
        requests.map((request) => ts(request.body.timestamp ? new Date(request.body.timestamp) : now)),
      ]);
    },
  });

  const results = createBatcher<ResultRequest, ResultTransition>({
    // The first result of a job wins and a repeat is a 409: never two of them in one statement.
    key: (request) => request.jobId,
    async run(requests) {
      return prepared<ResultTransition>(db, "job_result", RESULT_SQL, [
        requests.map((request) => request.jobId),
        requests.map((request) => request.clusterId),
        ts(clock.now()),
        requests.map((request) => request.body.outcome),
        // Agents quote what failed, tokens included: nothing token-shaped is kept, in the job or
        // in its audit row (written by this statement, so not through the audit service).
        requests.map((request) => redactString(request.body.error?.trim() ?? "") || null),
        requests.map((request) => (request.body.appliedRef ? JSON.stringify(request.body.appliedRef) : null)),
      ]);
    },
  });

  /**
   * Leases up to CLAIM_LIMIT claimable jobs of one cluster, oldest first. Claimable = ready, or
   * leased/acked with the lease or ack timeout run out (redelivery needs no sweep). On the way,
   * jobs past expiresAt become `expired` and jobs out of deliveries `undeliverable`.
   * FOR UPDATE SKIP LOCKED keeps concurrent polls (any process) from taking the same job.
   * Only the channel of the cluster's current connectivity mode gets its jobs: a job claimed on
   * one channel stays with it until its result or until its lease runs out, then goes to the
   * channel of the mode the cluster has then (docs/delivery-channels.md).
   */
  async function claim(
    clusterId: string,
    { channel = "pull", limit = CLAIM_LIMIT }: { channel?: DeliveryChannel; limit?: number } = {},
  ): Promise<AgentJob[]> {
    const delivered: AgentJob[] = [];
    for (let round = 0; round < 5 && delivered.length < limit; round += 1) {
      const rows = await claims.submit({ clusterId, limit: limit - delivered.length, channel });
      for (const row of rows) {
        if (row.state !== "leased") continue;
        delivered.push({
          id: row.id,
          kind: row.kind,
          payload: row.payload,
          idempotencyKey: row.idempotencyKey,
          createdAt: row.createdAt.toISOString(),
          expiresAt: row.expiresAt.toISOString(),
          ...(row.signature ? { signature: row.signature } : {}),
        });
      }
      // Only another round when this one closed jobs instead of delivering them.
      if (rows.length === 0 || rows.every((row) => row.state === "leased")) break;
    }
    return delivered;
  }

  /** 204 on first and repeated ack; the ack timeout starts (and restarts on repeats). */
  async function ack(clusterId: string, jobId: string): Promise<void> {
    requirePossibleId(jobId);
    const row = await acks.submit({ clusterId, jobId });
    if (!row.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /** Interim status: stored, and it renews the ack timeout. */
  async function status(clusterId: string, jobId: string, body: JobStatusBody): Promise<void> {
    requirePossibleId(jobId);
    const row = await statuses.submit({ clusterId, jobId, body });
    if (!row.updated) throw jobClosedOr404(row, jobId, "the job is closed");
  }

  /**
   * The first result closes the job; a repeat is a 409. Says whether the job was an application
   * request, whose application the caller then settles (see ApplicationsService.jobsClosed).
   */
  async function result(
    clusterId: string,
    jobId: string,
    body: JobResultBody,
  ): Promise<{ settlesApplication: boolean }> {
    requirePossibleId(jobId);
    const row = await results.submit({ clusterId, jobId, body });
    if (!row.updated) throw jobClosedOr404(row, jobId, "a result was already recorded");
    // job.finished webhooks: a hint, throttled by the notifier, never awaited on the agent's path.
    void notifier?.outboxWritten();
    return {
      settlesApplication:
        row.intent === ENSURE_APPLICATION_INSTANCE || row.intent === DELETE_APPLICATION_INSTANCE,
    };
  }

  /**
   * Puts jobs leased to a poll nobody will read back to `ready`, as if never delivered (the
   * delivery count too), so the next poll gets them at once rather than after the lease.
   */
  async function release(clusterId: string, jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await prepared(db, "job_release", RELEASE_SQL, [clusterId, jobIds, ts(clock.now())]);
  }

  /**
   * Clusters (among `clusterIds`) that have claimable jobs now: ready ones and those whose lease
   * or ack timeout ran out. Lets waiting polls pick up redeliveries and lost wake-ups.
   */
  async function claimableClusters(clusterIds: string[]): Promise<string[]> {
    if (clusterIds.length === 0) return [];
    const rows = await prepared<{ clusterId: string }>(db, "job_claimable", CLAIMABLE_SQL, [
      clusterIds,
      ts(clock.now()),
    ]);
    return rows.map((row) => row.clusterId);
  }

  /** Clusters not in pull mode with claimable jobs, and their mode: the executors' backstop sweep. */
  async function executorClusters(limit = 1000): Promise<{ clusterId: string; mode: DeliveryChannel }[]> {
    return prepared(db, "job_executor_claimable", EXECUTOR_CLAIMABLE_SQL, [ts(clock.now()), limit]);
  }

  /** Until when the cluster has a job in flight (leased or acked, lease running), if it has one. */
  async function inFlightUntil(clusterId: string): Promise<Date | undefined> {
    const [row] = await prepared<{ until: Date | null }>(db, "job_in_flight", IN_FLIGHT_SQL, [
      clusterId,
      ts(clock.now()),
    ]);
    return row?.until ?? undefined;
  }

  /** An executor's job that failed for a passing reason becomes claimable again at `at`. */
  /**
   * The job is tried again after `at`. `keepDelivery`: this attempt does not count towards
   * JOB_MAX_DELIVERIES (the cluster, not the job, is in trouble; the job's expiry bounds the wait).
   */
  async function retryLater(
    clusterId: string,
    jobId: string,
    at: Date,
    reason: string,
    keepDelivery = false,
  ): Promise<void> {
    await prepared(db, "job_retry_later", RETRY_LATER_SQL, [
      jobId,
      clusterId,
      ts(clock.now()),
      ts(at),
      redactString(reason).slice(0, 2_000),
      keepDelivery,
    ]);
  }

  return {
    claim,
    release,
    ack,
    status,
    result,
    claimableClusters,
    executorClusters,
    inFlightUntil,
    retryLater,
  };
}

export type DeliveryService = ReturnType<typeof createDeliveryService>;
