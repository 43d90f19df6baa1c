import type { AgentJob, JobResultBody } from "@vwksp/protocol";
import type { ClusterBackend } from "../backends/backend.ts";
import { isStatus, type RejectedJob } from "../client/agent-client.ts";
import type { Timing } from "../clock.ts";
import type { IdempotencyStore } from "../credentials/credentials.ts";
import { ApplyConflictError, errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { SignatureVerifier } from "../signature.ts";
import { executeJob } from "./execute.ts";
import { AgentStopped, type Session } from "./session.ts";
import type { Telemetry } from "./telemetry.ts";

export interface JobContext {
  session: Session;
  backend: ClusterBackend;
  idempotency: IdempotencyStore;
  verify: SignatureVerifier;
  requireSignatures: boolean;
  timing: Timing;
  log: Logger;
  /** Aborted when a stop runs out of time: ends retries of ack and result. */
  signal: AbortSignal;
  /** Results decided but not yet accepted, by job id: a redelivered job gets the same answer. */
  pending: Map<string, JobResultBody>;
  telemetry?: Telemetry;
}

const MAX_ERROR_LENGTH = 32_768;
const truncate = (text: string) =>
  text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;

/** Expiry, signature and replay checks, then the work itself; never throws for the job's own failures. */
export async function decideResult(
  ctx: Pick<JobContext, "timing" | "verify" | "requireSignatures" | "idempotency" | "backend" | "log"> & {
    clusterId: string;
  },
  job: AgentJob,
): Promise<JobResultBody> {
  const now = ctx.timing.clock.now();
  const timestamp = () => ctx.timing.clock.now().toISOString();
  if (now.getTime() > Date.parse(job.expiresAt))
    return { outcome: "noop", error: "expired", timestamp: timestamp() };

  const signature = ctx.verify(job.payload, job.signature);
  if (signature === "invalid") {
    return {
      outcome: "failed",
      error: "signature verification failed: the payload does not match its signature",
      timestamp: timestamp(),
    };
  }
  if (signature === "unsigned" && ctx.requireSignatures) {
    return {
      outcome: "failed",
      error: "the job is unsigned and this agent requires signed jobs",
      timestamp: timestamp(),
    };
  }

  try {
    if (await ctx.idempotency.has(job.idempotencyKey)) return { outcome: "noop", timestamp: timestamp() };
    const appliedRef = await executeJob(job, ctx.backend, ctx.clusterId);
    try {
      await ctx.idempotency.record(job.idempotencyKey);
    } catch (error) {
      // The apply happened; failing the job now would misreport the cluster's state.
      ctx.log.warn(`job ${job.id}: could not record idempotency key: ${errorMessage(error)}`);
    }
    return { outcome: "succeeded", appliedRef, timestamp: timestamp() };
  } catch (error) {
    const outcome = error instanceof ApplyConflictError ? "conflict" : "failed";
    return { outcome, error: truncate(errorMessage(error)) || "unknown error", timestamp: timestamp() };
  }
}

/** Posts the one result of a job; 409 (already recorded) and 404 (gone) count as done. */
async function report(ctx: JobContext, jobId: string, result: JobResultBody) {
  ctx.pending.set(jobId, result);
  try {
    const answer = await ctx.session.call((api) => api.result(jobId, result), {
      label: `result of job ${jobId}`,
      signal: ctx.signal,
    });
    if (answer === "duplicate") ctx.log.info(`job ${jobId}: result was already recorded`);
    ctx.pending.delete(jobId);
  } catch (error) {
    if (error instanceof AgentStopped || ctx.signal.aborted) throw error;
    // 404: the job was pruned or is not ours; 400: the server will never take this body.
    ctx.pending.delete(jobId);
    ctx.log.error(`job ${jobId}: result not accepted: ${errorMessage(error)}`);
  }
}

/** Ack before apply; a job the server says is closed (409) or unknown (404) is left alone. */
async function acknowledge(ctx: JobContext, jobId: string): Promise<boolean> {
  try {
    const answer = await ctx.session.call((api) => api.ack(jobId), {
      label: `ack of job ${jobId}`,
      signal: ctx.signal,
    });
    if (answer === "closed") ctx.log.info(`job ${jobId} is already closed; not applying it`);
    return answer === "acked";
  } catch (error) {
    if (error instanceof AgentStopped || ctx.signal.aborted || !isStatus(error, 404)) throw error;
    ctx.log.info(`job ${jobId} is unknown to the control plane; skipping it`);
    return false;
  }
}

export async function processJob(ctx: JobContext, job: AgentJob): Promise<JobResultBody | undefined> {
  if (!(await acknowledge(ctx, job.id))) return undefined;
  const result =
    ctx.pending.get(job.id) ?? (await decideResult({ ...ctx, clusterId: ctx.session.clusterId }, job));
  ctx.log.info(
    `job ${job.id} (${job.kind} ${job.idempotencyKey}): ${result.outcome}${result.error ? ` (${result.error})` : ""}`,
  );
  ctx.telemetry?.jobDone(job.kind, result.outcome);
  await report(ctx, job.id, result);
  return result;
}

/** A delivered job the schema refuses still gets its one answer. */
export async function processRejectedJob(ctx: JobContext, job: RejectedJob) {
  if (!(await acknowledge(ctx, job.id))) return;
  const error = truncate(`invalid job: ${job.problem}`);
  ctx.log.warn(`job ${job.id}: ${error}`);
  ctx.telemetry?.jobDone("invalid", "failed");
  await report(ctx, job.id, { outcome: "failed", error, timestamp: ctx.timing.clock.now().toISOString() });
}
