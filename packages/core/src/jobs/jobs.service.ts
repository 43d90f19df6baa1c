import {
  type CreateJobBody,
  canonicalJson,
  DELETE_APPLICATION_INSTANCE,
  type DeployApplicationBody,
  ENSURE_APPLICATION_INSTANCE,
  OPEN_JOB_STATES,
  REQUEST_OPERATION,
  type RequestOperationBody,
} from "@vwksp/protocol";
import type { ApplicationsService } from "../applications/applications.service.ts";
import { type AuditService, auditRow } from "../audit/audit.service.ts";
import { createBatcher } from "../batching.ts";
import { resolveCatalogEntry } from "../catalog/catalog-resolution.ts";
import type { Clock } from "../clock.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { type Cluster, type Db, type Prisma, prepared } from "../db.ts";
import { badRequest, conflict, DomainError, notFound } from "../errors.ts";
import { randomHex } from "../hashing.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { writeJobsClosed } from "../outbox/outbox.ts";
import { newJobId } from "./job-ids.ts";
import { createJobQueries } from "./jobs.queries.ts";
import { INSERT_COLUMNS, INSERT_JOBS_SQL, TARGET_CLUSTERS_SQL } from "./jobs.sql.ts";
import {
  catalogEntryAllowed,
  namespaceAllowed,
  namespaceRefusal,
  operationTemplateAllowed,
} from "./policy.ts";
import { catalogChartOf, rawJobScope, requireRawJobAllowed } from "./raw-jobs.ts";
import {
  type DeleteRequest,
  type DeployRequest,
  type IntentRequest,
  OPERATION_TEMPLATES,
  type OperationRequest,
} from "./render.ts";
import type { JobSignals } from "./signals.ts";

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  signals: JobSignals;
  applications: ApplicationsService;
  defaultExpiresSeconds: number;
  /** Told after a deploy or delete request committed its outbox event. */
  notifier?: Pick<ChangeNotifier, "outboxWritten">;
}

const forbiddenBy = (code: string, message: string) => new DomainError(403, code, message);

/** Admin side of the job pipeline: requests become `queued` rows, then the worker takes over. */
export function createJobsService({
  db,
  clock,
  audit,
  signals,
  applications,
  defaultExpiresSeconds,
  notifier,
}: Deps) {
  const queries = createJobQueries(db);
  type TargetCluster = Pick<
    Cluster,
    | "id"
    | "status"
    | "registeredAt"
    | "allowedNamespaces"
    | "allowedCatalogEntries"
    | "allowedOperationTemplates"
    | "policyVersion"
  >;

  type TargetRow = TargetCluster & { organizationId: string };

  const targetLookups = createBatcher<string, TargetRow | undefined>({
    async run(clusterIds) {
      const rows = await prepared<TargetRow>(db, "job_target_clusters", TARGET_CLUSTERS_SQL, [clusterIds]);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return clusterIds.map((clusterId) => byId.get(clusterId.toLowerCase()));
    },
  });

  /** A cluster of the actor's organization that can receive jobs (one indexed read, on the hot path). */
  async function deliverableCluster(actor: Actor, clusterId: string): Promise<TargetCluster> {
    const cluster = await targetLookups.submit(clusterId);
    if (!cluster || cluster.organizationId !== actor.organizationId) {
      throw notFound(`cluster ${clusterId} not found`);
    }
    if (cluster.status === "disabled") throw conflict("cluster_disabled", "cluster is disabled");
    if (cluster.status === "pending" || !cluster.registeredAt) {
      throw conflict("cluster_not_registered", "no agent has registered for this cluster yet");
    }
    return cluster;
  }

  type InsertRow = Record<Exclude<(typeof INSERT_COLUMNS)[number], "policyVersion">, string | null> & {
    policyVersion: number;
  };

  const inserts = createBatcher<InsertRow, void>({
    async run(rows) {
      await prepared(
        db,
        "job_insert",
        INSERT_JOBS_SQL,
        INSERT_COLUMNS.map((column) => rows.map((row) => row[column])),
      );
      return rows.map(() => undefined);
    },
  });

  // Dispatch jobs for BullMQ, added in bulk: one Redis round trip for all requests that wait.
  const queuedSignals = createBatcher<string, void>({
    async run(jobIds) {
      await signals.jobsQueued(jobIds);
      return jobIds.map(() => undefined);
    },
  });

  function requireNamespace(cluster: TargetCluster, namespace: string) {
    if (!namespaceAllowed(cluster, namespace)) {
      throw forbiddenBy("namespace_not_allowed", namespaceRefusal(cluster, namespace));
    }
  }

  interface NewJob {
    cluster: TargetCluster;
    kind: "apply" | "delete" | "intent";
    payload: Prisma.InputJsonValue;
    request?: IntentRequest;
    idempotencyKey: (jobId: string) => string;
    expiresInSeconds: number | undefined;
    auditData: Record<string, unknown>;
  }

  /** The job row and its JobRequested audit row, in one statement (part of `writer`'s transaction, if any). */
  async function insertJob(actor: Actor, job: NewJob, writer: Pick<Db, "$queryRawUnsafe"> = db) {
    const now = clock.now();
    const id = newJobId(now);
    const idempotencyKey = job.idempotencyKey(id);
    const expiresAt = new Date(now.getTime() + (job.expiresInSeconds ?? defaultExpiresSeconds) * 1000);
    const entry = auditRow(
      {
        source: "user",
        kind: "JobRequested",
        actor: actor.id,
        organizationId: actor.organizationId,
        clusterId: job.cluster.id,
        data: { jobId: id, kind: job.kind, apiKeyId: actor.id, ...job.auditData },
      },
      now,
    );
    const row: InsertRow = {
      id,
      cluster: job.cluster.id,
      kind: job.kind,
      payload: JSON.stringify(job.payload),
      request: job.request ? JSON.stringify(job.request) : null,
      idempotencyKey,
      createdAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
      apiKeyId: /^[0-9a-f-]{36}$/.test(actor.id) ? actor.id : null,
      organization: actor.organizationId,
      actor: actor.id,
      auditData: JSON.stringify(entry.data),
      policyVersion: job.cluster.policyVersion,
    };
    if (writer === db) await inserts.submit(row);
    // Inside a caller's transaction the statement must run on its connection.
    else await writer.$queryRawUnsafe(INSERT_JOBS_SQL, ...INSERT_COLUMNS.map((column) => [row[column]]));
    return { id, state: "queued" as const, idempotencyKey, expiresAt };
  }

  async function afterCommit<T extends { id: string }>(job: T): Promise<T> {
    await queuedSignals.submit(job.id);
    return job;
  }

  async function requestDeploy(
    actor: Actor,
    clusterId: string,
    body: DeployApplicationBody,
    options: { odooRecordId?: number } = {},
  ) {
    const cluster = await deliverableCluster(actor, clusterId);
    requireNamespace(cluster, body.namespace);
    const entry = await resolveCatalogEntry(db, actor.organizationId, body.catalogId);
    if (!entry) throw badRequest("unknown_catalog_entry", `catalog entry "${body.catalogId}" does not exist`);
    if (!catalogEntryAllowed(cluster, body.catalogId)) {
      throw forbiddenBy(
        "catalog_entry_not_allowed",
        `catalog entry "${body.catalogId}" is not in the cluster's allowedCatalogEntries`,
      );
    }
    const chart = entry.entry.chart as { version?: unknown } | null;
    const target = {
      clusterId,
      namespace: body.namespace,
      name: body.name,
      catalogId: body.catalogId,
      hostname: body.hostname,
      values: body.values,
      chartVersion: body.chartVersion ?? (typeof chart?.version === "string" ? chart.version : undefined),
      odooRecordId: options.odooRecordId,
    };
    const job = await db.$transaction((tx) =>
      applications.request(tx, target, "deploy", (generation) => {
        const request: DeployRequest = {
          intent: ENSURE_APPLICATION_INSTANCE,
          catalogId: body.catalogId,
          namespace: body.namespace,
          name: body.name,
          hostname: body.hostname,
          values: body.values,
          chartVersion: body.chartVersion,
          generation,
        };
        return insertJob(
          actor,
          {
            cluster,
            kind: "intent",
            payload: { intent: ENSURE_APPLICATION_INSTANCE },
            request,
            idempotencyKey: () => `applicationinstance/${body.namespace}/${body.name}@${generation}`,
            expiresInSeconds: body.expiresInSeconds,
            auditData: {
              intent: ENSURE_APPLICATION_INSTANCE,
              catalogId: body.catalogId,
              namespace: body.namespace,
              name: body.name,
              generation,
            },
          },
          tx,
        );
      }),
    );
    await notifier?.outboxWritten().catch(() => {});
    return afterCommit(job);
  }

  async function requestDelete(actor: Actor, clusterId: string, namespace: string, name: string) {
    const cluster = await deliverableCluster(actor, clusterId);
    requireNamespace(cluster, namespace);
    const job = await db.$transaction((tx) =>
      applications.request(tx, { clusterId, namespace, name }, "delete", (generation) => {
        const request: DeleteRequest = { intent: DELETE_APPLICATION_INSTANCE, namespace, name, generation };
        return insertJob(
          actor,
          {
            cluster,
            kind: "intent",
            payload: { intent: DELETE_APPLICATION_INSTANCE },
            request,
            idempotencyKey: () => `applicationinstance/${namespace}/${name}@${generation}/delete`,
            expiresInSeconds: undefined,
            auditData: { intent: DELETE_APPLICATION_INSTANCE, namespace, name },
          },
          tx,
        );
      }),
    );
    await notifier?.outboxWritten().catch(() => {});
    return afterCommit(job);
  }

  async function requestOperation(actor: Actor, clusterId: string, body: RequestOperationBody) {
    const cluster = await deliverableCluster(actor, clusterId);
    requireNamespace(cluster, body.namespace);
    if (!OPERATION_TEMPLATES[body.template]) {
      throw badRequest(
        "unknown_operation_template",
        `operation template "${body.template}" is not one of ${Object.keys(OPERATION_TEMPLATES).join(", ")}`,
      );
    }
    if (!operationTemplateAllowed(cluster, body.template)) {
      throw forbiddenBy(
        "operation_template_not_allowed",
        `operation template "${body.template}" is not in the cluster's allowedOperationTemplates`,
      );
    }
    const type = OPERATION_TEMPLATES[body.template]?.type.toLowerCase() ?? "op";
    const operationName = `${body.name.slice(0, 40)}-${type}-${randomHex(3)}`;
    const request: OperationRequest = {
      intent: REQUEST_OPERATION,
      template: body.template,
      namespace: body.namespace,
      name: body.name,
      operationName,
      parameters: body.parameters,
    };
    const job = await insertJob(actor, {
      cluster,
      kind: "intent",
      payload: { intent: REQUEST_OPERATION },
      request,
      idempotencyKey: () => `operation/${body.namespace}/${operationName}@1`,
      expiresInSeconds: body.expiresInSeconds,
      auditData: {
        intent: REQUEST_OPERATION,
        template: body.template,
        namespace: body.namespace,
        name: body.name,
      },
    });
    return afterCommit(job);
  }

  /**
   * A raw apply/delete/intent job; the payload goes to the agent as given. With an
   * `idempotencyKey` of the caller's, the request is idempotent per cluster: the same key with the
   * same job answers the job it made before, the same key with another job is a 409 (the operator
   * would take the second for a replay of the first and skip it).
   */
  async function createRaw(actor: Actor, clusterId: string, body: CreateJobBody) {
    const cluster = await deliverableCluster(actor, clusterId);
    const target = rawJobScope(body.kind, body.payload);
    requireRawJobAllowed(cluster, target, await catalogChartOf(db, actor.organizationId, target));
    const job: NewJob = {
      cluster,
      kind: body.kind,
      payload: body.payload as Prisma.InputJsonValue,
      idempotencyKey: (jobId) =>
        body.idempotencyKey ??
        `${target.kind.toLowerCase()}/${target.namespace || "_"}/${target.name}@${jobId}`,
      expiresInSeconds: body.expiresInSeconds,
      auditData: { raw: true, target },
    };
    const key = body.idempotencyKey;
    if (key === undefined) return afterCommit(await insertJob(actor, job));

    // The key's row and the job commit together; a key taken already (also by a request running
    // right now: the insert waits for it) rolls this job back and answers with the earlier one.
    const keyTaken = new Error("idempotency key taken");
    try {
      const created = await db.$transaction(async (tx) => {
        const inserted = await insertJob(actor, job, tx);
        const claimed = await tx.$executeRaw`
          INSERT INTO "JobIdempotencyKey" ("clusterId", key, "jobId", "createdAt")
          VALUES (${cluster.id}::uuid, ${key}, ${inserted.id}, ${clock.now()})
          ON CONFLICT DO NOTHING`;
        if (claimed !== 1) throw keyTaken;
        return inserted;
      });
      return afterCommit(created);
    } catch (error) {
      if (error !== keyTaken) throw error;
    }
    const earlier = await db.jobIdempotencyKey.findUniqueOrThrow({
      where: { clusterId_key: { clusterId: cluster.id, key } },
      select: {
        job: {
          select: { id: true, state: true, idempotencyKey: true, expiresAt: true, kind: true, payload: true },
        },
      },
    });
    if (
      earlier.job.kind !== body.kind ||
      canonicalJson(earlier.job.payload) !== canonicalJson(body.payload)
    ) {
      throw conflict(
        "idempotency_key_reused",
        `idempotencyKey "${key}" already names job ${earlier.job.id} with another ${earlier.job.kind === body.kind ? "payload" : "kind"}`,
      );
    }
    const { id, state, idempotencyKey, expiresAt } = earlier.job;
    return { id, state, idempotencyKey, expiresAt };
  }

  /** Cancels an open job; it is never delivered again. A closed job is a 409. */
  async function cancel(actor: Actor, jobId: string) {
    const job = await queries.get(actor.organizationId, jobId);
    const now = clock.now();
    const cancelled = await db.$transaction(async (tx) => {
      const updated = await tx.job.updateMany({
        where: { id: jobId, state: { in: [...OPEN_JOB_STATES] } },
        data: { state: "cancelled", finishedAt: now, leaseExpiresAt: null, error: "cancelled by an admin" },
      });
      if (updated.count === 1) {
        await writeJobsClosed(tx, [jobId], now);
        await audit.record(
          {
            source: "user",
            kind: "JobCancelled",
            actor: actor.id,
            organizationId: actor.organizationId,
            clusterId: job.clusterId,
            data: { jobId },
          },
          tx,
        );
      }
      return updated.count === 1;
    });
    if (!cancelled) throw conflict("job_closed", `job ${jobId} is already ${job.state}`);
    await notifier?.outboxWritten();
    await applications.jobsClosed([jobId]);
    return queries.get(actor.organizationId, jobId);
  }

  return { requestDeploy, requestDelete, requestOperation, createRaw, cancel };
}

export type JobsService = ReturnType<typeof createJobsService>;
