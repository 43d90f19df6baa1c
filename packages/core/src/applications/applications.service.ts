import {
  type AgentEvent,
  type ApplicationState,
  CLOSED_JOB_STATES,
  type Condition,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
} from "@vwksp/protocol";
import type { AuditInput, AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import { type Db, Prisma } from "../db.ts";
import type { ProjectedResource } from "../events/resource-projection.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { writeOutbox } from "../outbox/outbox.ts";
import {
  type ApplicationChange,
  type ApplicationSignal,
  type ClosedJobState,
  nextApplicationState,
  type ObservedResource,
} from "./application-states.ts";

const INSTANCE_KIND = "ApplicationInstance";
const INSTANCE_GROUP = "apps.vworkspace.io/";

export const isApplicationInstance = (ref: AgentEvent["resourceRef"]) =>
  ref.kind === INSTANCE_KIND && ref.apiVersion.startsWith(INSTANCE_GROUP);

/** An application row as the state machine needs it (locked by the caller's statement). */
interface ApplicationRow {
  id: string;
  clusterId: string;
  organizationId: string;
  namespace: string;
  name: string;
  state: ApplicationState;
  stateReason: string | null;
  lastJobId: string | null;
  appliedUid: string | null;
  appliedGeneration: number | null;
}

interface ClosedJobRow extends ApplicationRow {
  jobId: string;
  jobState: ClosedJobState;
  error: string | null;
  appliedRef: { uid?: string; generation?: number } | null;
  intent: string;
}

type Tx = Prisma.TransactionClient;

const APPLICATION_COLUMNS = `a.id::text AS id, a."clusterId"::text AS "clusterId",
  (SELECT "organizationId"::text FROM "Cluster" WHERE id = a."clusterId") AS "organizationId",
  a.namespace, a.name, a.state, a."stateReason", a."lastJobId", a."appliedUid", a."appliedGeneration"`;

/**
 * Where application state changes, and the only place: requests, job outcomes and the cluster's
 * reports all come here as signals, `nextApplicationState` decides, and every change is written
 * with an audit entry in the caller's transaction. Later sources (Odoo, webhooks, push and GitOps
 * modes) feed the same signals.
 */
export function createApplicationsService({
  db,
  clock,
  audit,
  notifier,
}: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  /** Told after this service's own transactions commit outbox events (callers' transactions tell it themselves). */
  notifier?: Pick<ChangeNotifier, "outboxWritten">;
}) {
  /** Writes a change (and `request`'s new generation and job, which are written in any case). */
  async function commit(
    tx: Tx,
    row: ApplicationRow,
    change: ApplicationChange | undefined,
    requested?: { generation: number; jobId: string },
  ) {
    const same =
      !change ||
      (change.state === row.state &&
        change.reason === row.stateReason &&
        change.appliedUid === row.appliedUid &&
        change.appliedGeneration === row.appliedGeneration);
    if (same && !requested) return false;
    const now = clock.now();
    await tx.application.update({
      where: { id: row.id },
      data: {
        ...(requested ? { generation: requested.generation, lastJobId: requested.jobId } : {}),
        ...(change && !same
          ? {
              state: change.state,
              stateReason: change.reason,
              appliedUid: change.appliedUid,
              appliedGeneration: change.appliedGeneration,
              ...(change.state === "deployed" && row.state !== "deployed" ? { deployedAt: now } : {}),
              deletedAt: change.state === "deleted" ? now : null,
            }
          : {}),
      },
    });
    // The domain event, in the same transaction: the Odoo push (and later webhooks) read it.
    await writeOutbox(
      tx,
      {
        kind: "ApplicationChanged",
        organizationId: row.organizationId,
        clusterId: row.clusterId,
        applicationId: row.id,
        data: {
          namespace: row.namespace,
          name: row.name,
          from: row.state,
          to: change && !same ? change.state : row.state,
          reason: change && !same ? change.reason : row.stateReason,
          jobId: requested?.jobId ?? row.lastJobId,
        },
      },
      now,
    );
    if (change && change.state !== row.state) {
      const entry: AuditInput = {
        source: "system",
        kind: "ApplicationStateChanged",
        actor: "system",
        organizationId: row.organizationId,
        clusterId: row.clusterId,
        data: {
          namespace: row.namespace,
          name: row.name,
          from: row.state,
          to: change.state,
          reason: change.reason,
          jobId: requested?.jobId ?? row.lastJobId,
        },
      };
      await audit.record(entry, tx);
    }
    return true;
  }

  /**
   * A deploy or delete request: the application row (created for a deploy), its next generation,
   * the job `createJob` makes for that generation, and the state the request leads to. A delete
   * of an application never requested here only makes the job.
   */
  async function request<J extends { id: string }>(
    tx: Tx,
    target: {
      clusterId: string;
      namespace: string;
      name: string;
      catalogId?: string;
      hostname?: string | undefined;
      values?: Record<string, unknown> | undefined;
      chartVersion?: string | undefined;
      /** The application's Odoo record, when the request came from Odoo. */
      odooRecordId?: number | undefined;
    },
    intent: "deploy" | "delete",
    createJob: (generation: number) => Promise<J>,
  ): Promise<J> {
    const where = {
      clusterId_namespace_name: {
        clusterId: target.clusterId,
        namespace: target.namespace,
        name: target.name,
      },
    };
    if (intent === "deploy") {
      const catalogId = target.catalogId ?? "";
      const requestedValues = {
        catalogId,
        hostname: target.hostname ?? null,
        values: (target.values ?? Prisma.DbNull) as Prisma.InputJsonValue,
        chartVersion: target.chartVersion ?? null,
        ...(target.odooRecordId !== undefined ? { odooRecordId: target.odooRecordId } : {}),
      };
      await tx.application.upsert({
        where,
        create: {
          clusterId: target.clusterId,
          namespace: target.namespace,
          name: target.name,
          generation: 0,
          ...requestedValues,
        },
        update: requestedValues,
      });
    }
    const [row] = await tx.$queryRawUnsafe<(ApplicationRow & { generation: number })[]>(
      `SELECT ${APPLICATION_COLUMNS}, a.generation FROM "Application" a
       WHERE a."clusterId" = $1::uuid AND a.namespace = $2 AND a.name = $3 FOR UPDATE`,
      target.clusterId,
      target.namespace,
      target.name,
    );
    const generation = (row?.generation ?? 0) + 1;
    const job = await createJob(generation);
    if (!row) return job;
    const signal: ApplicationSignal = { kind: `${intent}-requested`, jobId: job.id };
    await commit(tx, row, nextApplicationState(row, signal), { generation, jobId: job.id });
    return job;
  }

  /** The ApplicationInstance statuses of applications, as last projected from the cluster's events. */
  async function observedResources(tx: Tx, rows: ApplicationRow[]) {
    if (rows.length === 0) return new Map<string, ObservedResource>();
    const found = await tx.$queryRaw<
      {
        clusterId: string;
        namespace: string;
        name: string;
        uid: string | null;
        generation: number | null;
        conditions: Condition[];
      }[]
    >`
      SELECT r."clusterId"::text AS "clusterId", r.namespace, r.name, r.uid, r.generation, r.conditions
      FROM "ResourceStatus" r
      JOIN unnest(${rows.map((row) => row.clusterId)}::uuid[], ${rows.map((row) => row.namespace)}::text[],
                  ${rows.map((row) => row.name)}::text[]) AS i(cluster_id, namespace, name)
        ON r."clusterId" = i.cluster_id AND r.namespace = i.namespace AND r.name = i.name
      WHERE r.kind = ${INSTANCE_KIND} AND r."apiVersion" LIKE ${`${INSTANCE_GROUP}%`}`;
    return new Map(found.map((row) => [`${row.clusterId}|${row.namespace}|${row.name}`, row]));
  }

  /**
   * Settles the applications whose latest request's job is among `jobIds` and closed. Safe to
   * call more than once and for any job: jobs that are not application requests, not the
   * latest request of their application, or already settled change nothing.
   */
  async function jobsClosed(jobIds: string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const settled = await db.$transaction(async (tx) => {
      // Through the application's unique key, locked in id order like the events path locks them.
      const rows = await tx.$queryRawUnsafe<ClosedJobRow[]>(
        `SELECT ${APPLICATION_COLUMNS}, j.id AS "jobId", j.state::text AS "jobState", j.error, j."appliedRef",
                j.request->>'intent' AS intent
         FROM "Job" j
         JOIN "Application" a ON a."clusterId" = j."clusterId" AND a.namespace = j.request->>'namespace'
           AND a.name = j.request->>'name' AND a."lastJobId" = j.id
         WHERE j.id = ANY($1::text[]) AND j.request->>'intent' IN ($2, $3)
           AND j.state::text = ANY($4::text[])
         ORDER BY a.id
         FOR UPDATE OF a`,
        jobIds,
        ENSURE_APPLICATION_INSTANCE,
        DELETE_APPLICATION_INSTANCE,
        CLOSED_JOB_STATES,
      );
      const resources = await observedResources(tx, rows);
      let settled = 0;
      for (const row of rows) {
        const signal: ApplicationSignal = {
          kind: "job-closed",
          jobId: row.jobId,
          intent: row.intent === ENSURE_APPLICATION_INSTANCE ? "deploy" : "delete",
          jobState: row.jobState,
          error: row.error,
          appliedRef: row.appliedRef,
          resource: resources.get(`${row.clusterId}|${row.namespace}|${row.name}`) ?? null,
        };
        if (await commit(tx, row, nextApplicationState(row, signal))) settled += 1;
      }
      return settled;
    });
    if (settled > 0) await notifier?.outboxWritten().catch(() => {});
    return settled;
  }

  /**
   * The cluster reported new conditions of ApplicationInstances (projected in the caller's
   * transaction, after the ResourceStatus rows were written).
   */
  async function resourcesObserved(tx: Tx, clusterId: string, projected: ProjectedResource[]) {
    const instances = projected.filter(({ ref }) => isApplicationInstance(ref));
    if (instances.length === 0) return 0;
    const rows = await tx.$queryRawUnsafe<ApplicationRow[]>(
      `SELECT ${APPLICATION_COLUMNS} FROM "Application" a
       JOIN unnest($2::text[], $3::text[]) AS i(namespace, name) ON a.namespace = i.namespace AND a.name = i.name
       WHERE a."clusterId" = $1::uuid
       ORDER BY a.id
       FOR UPDATE OF a`,
      clusterId,
      instances.map(({ ref }) => ref.namespace ?? ""),
      instances.map(({ ref }) => ref.name),
    );
    const byName = new Map(
      instances.map(({ ref, status }) => [`${ref.namespace ?? ""}|${ref.name}`, status]),
    );
    let changed = 0;
    for (const row of rows) {
      const resource = byName.get(`${row.namespace}|${row.name}`);
      if (
        resource &&
        (await commit(tx, row, nextApplicationState(row, { kind: "resource-observed", resource })))
      )
        changed += 1;
    }
    return changed;
  }

  /**
   * The backstop behind the direct calls: applications still waiting for a job that has closed
   * (the process died between the job's result and the settling, or the job was closed by the
   * sweep, a claim that found it expired, or a cluster being disabled).
   */
  async function settleClosedJobs(limit = 500): Promise<{ settled: number }> {
    const waiting = await db.$queryRaw<{ jobId: string }[]>`
      SELECT a."lastJobId" AS "jobId" FROM "Application" a JOIN "Job" j ON j.id = a."lastJobId"
      WHERE a.state IN ('requested', 'deleting') AND j.state::text = ANY(${CLOSED_JOB_STATES}::text[])
      LIMIT ${limit}`;
    return { settled: await jobsClosed(waiting.map((row) => row.jobId)) };
  }

  return { request, jobsClosed, resourcesObserved, settleClosedJobs };
}

export type ApplicationsService = ReturnType<typeof createApplicationsService>;
