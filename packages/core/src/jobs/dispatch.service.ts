import {
  type ChartRef,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  REQUEST_OPERATION,
} from "@vwksp/protocol";
import type { ApplicationsService } from "../applications/applications.service.ts";
import type { AuditService } from "../audit/audit.service.ts";
import { createBatcher } from "../batching.ts";
import { resolveCatalogEntry } from "../catalog/catalog-resolution.ts";
import type { Clock } from "../clock.ts";
import { plainSigningKeys, type SigningKeyVault } from "../clusters/signing-keys.ts";
import { type Cluster, type Db, type Job, type Prisma, prepared } from "../db.ts";
import { writeJobsClosed } from "../outbox/outbox.ts";
import {
  catalogEntryAllowed,
  namespaceAllowed,
  namespaceRefusal,
  operationTemplateAllowed,
} from "./policy.ts";
import { catalogChartOf, rawJobScope, requireRawJobAllowed } from "./raw-jobs.ts";
import {
  type DeployRequest,
  type IntentRequest,
  renderApplicationInstance,
  renderDeleteApplication,
  renderOperation,
} from "./render.ts";
import type { JobSignals } from "./signals.ts";
import { signPayload } from "./signing.ts";

/**
 * $1 jobs, $2 now. `state::text` keeps the generic plan on the primary key: planned while few
 * jobs are queued, it would otherwise read every queued job through the state index, which is
 * slow exactly when a burst has queued thousands.
 */
const READY_WITHOUT_RENDERING_SQL = `
  UPDATE "Job" j SET state = 'ready', "readyAt" = $2::timestamp, "updatedAt" = $2::timestamp
  FROM "Cluster" c
  WHERE j.id = ANY($1::text[]) AND j.state::text = 'queued' AND j.request IS NULL AND j."expiresAt" > $2::timestamp
    AND c.id = j."clusterId" AND c.status <> 'disabled' AND NOT c."signPayloads"
    -- Allow-lists changed since the request was checked: the slow path checks them again.
    AND j."policyVersion" = c."policyVersion"
  RETURNING j.id, j."clusterId"::text AS "clusterId", c."connectivityMode"::text AS mode`;

export type DispatchOutcome = "ready" | "skipped" | "expired" | "cancelled" | "rejected";

class Rejected extends Error {}

/**
 * The worker's step between `queued` and `ready`: re-checks the cluster's allow-lists (they may
 * have changed since the request), renders the custom resource, signs it when the cluster wants
 * signed payloads, marks the job ready and wakes the cluster's polls. Idempotent: a job that is
 * no longer `queued` is left alone, so BullMQ retries and reconciler re-enqueues are harmless.
 */
export function createDispatchService({
  db,
  clock,
  audit,
  signals,
  applications,
  signingKeys = plainSigningKeys,
}: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  signals: JobSignals;
  /** Settles the application of a request closed here (rejected, expired, cancelled). */
  applications: ApplicationsService;
  /** Opens the clusters' signing keys (sealed when SECRET_KEY is set). */
  signingKeys?: SigningKeyVault;
}) {
  async function render(job: Job, cluster: Cluster): Promise<Record<string, unknown>> {
    const request = job.request as IntentRequest | null;
    if (!request) {
      // A raw job: its payload goes out as given, if the allow-lists still cover it.
      const payload = job.payload as Record<string, unknown>;
      try {
        const scope = rawJobScope(job.kind, payload);
        requireRawJobAllowed(cluster, scope, await catalogChartOf(db, cluster.organizationId, scope));
      } catch (error) {
        throw new Rejected(
          `${error instanceof Error ? error.message : String(error)} (checked again at dispatch)`,
        );
      }
      return payload;
    }
    if (!namespaceAllowed(cluster, request.namespace))
      throw new Rejected(`${namespaceRefusal(cluster, request.namespace)} (checked again at dispatch)`);
    switch (request.intent) {
      case ENSURE_APPLICATION_INSTANCE: {
        const deploy = request as DeployRequest;
        if (!catalogEntryAllowed(cluster, deploy.catalogId))
          throw new Rejected(`catalog entry ${deploy.catalogId} is no longer allowed`);
        // The cluster's organization's own entry, else the shared one: never another organization's.
        const resolved = await resolveCatalogEntry(db, cluster.organizationId, deploy.catalogId);
        if (!resolved) throw new Rejected(`catalog entry ${deploy.catalogId} no longer exists`);
        return renderApplicationInstance(cluster.id, deploy, {
          chart: resolved.entry.chart as ChartRef,
          defaultValues: resolved.entry.defaultValues as Record<string, unknown>,
        });
      }
      case REQUEST_OPERATION:
        if (!operationTemplateAllowed(cluster, request.template))
          throw new Rejected(`operation template ${request.template} is no longer allowed`);
        return renderOperation(cluster.id, request);
      case DELETE_APPLICATION_INSTANCE:
        return renderDeleteApplication(request);
    }
  }

  async function close(job: Job, state: "expired" | "cancelled" | "failed", error: string) {
    const now = clock.now();
    await db.$transaction(async (tx) => {
      const updated = await tx.job.updateMany({
        where: { id: job.id, state: "queued" },
        data: { state, error, finishedAt: now },
      });
      if (updated.count === 1) await writeJobsClosed(tx, [job.id], now);
      if (updated.count === 1 && state === "failed") {
        await audit.record(
          {
            source: "system",
            kind: "JobRejected",
            actor: "system",
            clusterId: job.clusterId,
            data: { jobId: job.id, error },
          },
          tx,
        );
      }
    });
    if (job.request) await applications.jobsClosed([job.id]);
  }

  /**
   * The common case in one statement: jobs with nothing to render (raw apply/delete) for a live
   * cluster that does not sign become ready at once, and their clusters' polls are woken.
   * Jobs dispatched at the same time share the statement. Anything else takes the full path.
   */
  const readyWithoutRendering = createBatcher<string, boolean>({
    async run(jobIds) {
      const rows = await prepared<{ id: string; clusterId: string; mode: string }>(
        db,
        "job_ready_without_rendering",
        READY_WITHOUT_RENDERING_SQL,
        [jobIds, clock.now().toISOString()],
      );
      if (rows.length > 0) await announceReady(rows);
      const ready = new Set(rows.map((row) => row.id));
      return jobIds.map((jobId) => ready.has(jobId));
    },
  });

  /** Ready jobs of pull clusters wake their polls; those of the other modes go to their executor. */
  async function announceReady(rows: { clusterId: string; mode: string }[]) {
    const polled = new Set<string>();
    const executed = new Set<string>();
    for (const row of rows) (row.mode === "pull" ? polled : executed).add(row.clusterId);
    if (polled.size > 0) await signals.jobsReady([...polled]);
    if (executed.size > 0) await signals.jobsToExecute([...executed]);
  }

  async function prepare(jobId: string, attempt = 1): Promise<DispatchOutcome> {
    if (await readyWithoutRendering.submit(jobId)) return "ready";
    const job = await db.job.findUnique({ where: { id: jobId }, include: { cluster: true } });
    if (job?.state !== "queued") return "skipped";
    const { cluster } = job;
    if (cluster.status === "disabled") {
      await close(job, "cancelled", "cluster disabled");
      return "cancelled";
    }
    if (job.expiresAt <= clock.now()) {
      await close(job, "expired", "expired before it was delivered");
      return "expired";
    }
    let payload: Record<string, unknown>;
    try {
      payload = await render(job, cluster);
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      await close(job, "failed", `rejected: ${error.message}`);
      return "rejected";
    }
    let signature: string | null = null;
    if (cluster.signPayloads && cluster.signingPrivateKey) {
      let privateKey: string;
      try {
        privateKey = signingKeys.open(cluster.signingPrivateKey);
      } catch (error) {
        // A configuration fault (the secret missing or another one): the job stays queued with
        // the reason in `error`, and BullMQ and the reconciler retry it until the worker has the
        // right secret or the job expires.
        const reason = `waiting: cannot sign: ${(error as Error).message}`;
        await db.job.updateMany({ where: { id: job.id, state: "queued" }, data: { error: reason } });
        throw new Error(reason);
      }
      signature = signPayload(privateKey, payload);
    }
    // Only against the allow-lists just checked: if one changed meanwhile, the job is checked again.
    const updated = await db.job.updateMany({
      where: { id: job.id, state: "queued", cluster: { policyVersion: cluster.policyVersion } },
      data: {
        state: "ready",
        readyAt: clock.now(),
        payload: payload as Prisma.InputJsonValue,
        signature,
        error: null,
        policyVersion: cluster.policyVersion,
      },
    });
    if (updated.count === 0) {
      const now = await db.job.findUnique({ where: { id: job.id }, select: { state: true } });
      if (now?.state === "queued" && attempt < 3) return prepare(jobId, attempt + 1);
      return "skipped";
    }
    await announceReady([{ clusterId: cluster.id, mode: cluster.connectivityMode }]);
    return "ready";
  }

  /** Jobs still `queued` after `olderThanMs`: their BullMQ job may be lost (e.g. Redis flushed). */
  async function staleQueued(olderThanMs: number, limit = 1000) {
    const rows = await db.job.findMany({
      where: { state: "queued", createdAt: { lte: new Date(clock.now().getTime() - olderThanMs) } },
      select: { id: true },
      orderBy: { createdAt: "asc" },
      take: limit,
    });
    return rows.map((row) => row.id);
  }

  return { prepare, staleQueued };
}

export type DispatchService = ReturnType<typeof createDispatchService>;
