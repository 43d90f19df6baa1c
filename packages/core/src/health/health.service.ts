import { type Condition, OPEN_JOB_STATES } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import { clusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Db } from "../db.ts";
import type { PollAuthFailures } from "../events/heartbeats.ts";
import type { ChangeNotifier } from "../notifier.ts";
import { jobChannelCondition } from "./job-channel.ts";

const ts = (date: Date) => date.toISOString();

interface JobChannelRow {
  id: string;
  organizationId: string;
  status: string;
  registeredAt: Date | null;
  lastPollAt: Date | null;
  pollAuthFailures: PollAuthFailures | null;
  jobChannel: Condition | null;
  oldestReadyAt: Date | null;
  connectivityMode: string;
}

/**
 * Cluster liveness: the worker marks silent clusters disconnected (contact reconnects them) and
 * judges every cluster's job channel.
 */
export function createHealthService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  heartbeatTimeoutSeconds: number;
  /** A connected cluster without a successful poll for this long has a broken job channel. */
  jobChannelStaleSeconds: number;
  /** Writes what this process still coalesces (last seen, heartbeats), so a read is current. */
  flushPending?: () => Promise<void>;
}) {
  const { db, clock, audit, notifier } = deps;

  /** Flips connected clusters that were silent for HEARTBEAT_TIMEOUT_SECONDS to disconnected. */
  async function markSilentClustersDisconnected() {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - deps.heartbeatTimeoutSeconds * 1000);
    // The outbox event is written by the same statement: it exists exactly when the flip does.
    const flipped = await db.$queryRaw<{ id: string; organizationId: string; lastSeenAt: Date | null }[]>`
      WITH flipped AS (
        UPDATE "Cluster" SET status = 'disconnected', "updatedAt" = ${ts(now)}::timestamp
        WHERE status = 'connected' AND COALESCE("lastSeenAt", "registeredAt", "createdAt") < ${ts(cutoff)}::timestamp
        RETURNING id, "organizationId", "lastSeenAt"
      ), outbox AS (
        INSERT INTO "OutboxEvent" (kind, "organizationId", "clusterId", data, "createdAt")
        SELECT 'ClusterDisconnected', "organizationId", id,
          jsonb_build_object('lastSeenAt', "lastSeenAt", 'timeoutSeconds', ${deps.heartbeatTimeoutSeconds}::int),
          ${ts(now)}::timestamp
        FROM flipped
      )
      SELECT id::text AS id, "organizationId"::text AS "organizationId", "lastSeenAt" FROM flipped`;
    await audit.recordMany(
      flipped.map((row) => ({
        source: "system" as const,
        kind: "Disconnected",
        actor: "system",
        organizationId: row.organizationId,
        clusterId: row.id,
        data: {
          lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
          timeoutSeconds: deps.heartbeatTimeoutSeconds,
        },
      })),
    );
    for (const row of flipped) await notifier.clusterChanged(row.id);
    if (flipped.length > 0) await notifier.outboxWritten();
    return { disconnected: flipped.length };
  }

  /**
   * Writes the JobChannelHealthy condition of the clusters whose verdict may differ from the
   * stored one: connected clusters not judged healthy yet, silent for longer than the threshold
   * or with jobs waiting that long, and judged ones that disconnected. A change of status or
   * reason is audited and pushed to Odoo. Healthy polling clusters are not even read.
   */
  async function checkJobChannels() {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - deps.jobChannelStaleSeconds * 1000);
    const rows = await db.$queryRaw<JobChannelRow[]>`
      WITH waiting AS (
        SELECT "clusterId", min("readyAt") AS oldest FROM "Job" WHERE state = 'ready' GROUP BY "clusterId"
      )
      SELECT c.id::text AS id, c."organizationId"::text AS "organizationId", c.status::text AS status,
             c."registeredAt", c."lastPollAt", c."pollAuthFailures", c."jobChannel", w.oldest AS "oldestReadyAt",
             c."connectivityMode"::text AS "connectivityMode"
      FROM "Cluster" c LEFT JOIN waiting w ON w."clusterId" = c.id
      WHERE (c."connectivityMode" = 'pull' AND (
               (c.status = 'connected' AND (c."jobChannel" IS NULL OR c."jobChannel"->>'status' <> 'True'
                 OR COALESCE(c."lastPollAt", c."registeredAt") < ${ts(cutoff)}::timestamp
                 OR w.oldest < ${ts(cutoff)}::timestamp))
               OR (c.status <> 'connected' AND c."jobChannel"->>'status' IN ('True', 'False'))))
         -- Push and GitOps clusters get their jobs from the worker, not from polls: nothing to
         -- judge here (GitOps has GitRepositoryHealthy); a verdict from their pull days goes.
         OR (c."connectivityMode" <> 'pull' AND c."jobChannel" IS NOT NULL)`;
    let changed = 0;
    for (const row of rows) {
      if (row.connectivityMode !== "pull") {
        await db.$executeRaw`UPDATE "Cluster" SET "jobChannel" = NULL WHERE id = ${row.id}::uuid`;
        changed += 1;
        await notifier.clusterChanged(row.id);
        continue;
      }
      const previous = row.jobChannel;
      const next = jobChannelCondition(row, previous, now, deps.jobChannelStaleSeconds);
      if (
        !next ||
        (previous?.status === next.status &&
          previous.reason === next.reason &&
          previous.message === next.message)
      )
        continue;
      const update = db.$executeRaw`UPDATE "Cluster" SET "jobChannel" = ${JSON.stringify(next)}::jsonb WHERE id = ${row.id}::uuid`;
      if (previous?.status === next.status) await update;
      // The condition's status flipped: the domain event (cluster.health_changed webhooks) in
      // the same transaction.
      else
        await db.$transaction([
          update,
          db.outboxEvent.create({
            data: {
              kind: "ClusterHealthChanged",
              organizationId: row.organizationId,
              clusterId: row.id,
              data: {
                condition: "JobChannelHealthy",
                from: previous?.status ?? null,
                to: next.status,
                reason: next.reason,
                message: next.message,
              },
              createdAt: now,
            },
          }),
        ]);
      changed += 1;
      if (previous?.status === next.status && previous.reason === next.reason) continue;
      if (next.status === "False" || previous?.status === "False") {
        await audit.record({
          source: "system",
          kind: next.status === "False" ? "JobChannelBroken" : "JobChannelRestored",
          actor: "system",
          organizationId: row.organizationId,
          clusterId: row.id,
          data: {
            status: next.status,
            reason: next.reason,
            message: next.message,
            lastPollAt: row.lastPollAt?.toISOString() ?? null,
          },
        });
      }
      await notifier.clusterChanged(row.id);
    }
    return { checked: rows.length, changed };
  }

  async function clusterHealth(organizationId: string, clusterId: string) {
    await deps.flushPending?.();
    const cluster = await clusterOfOrganization(db, organizationId, clusterId);
    const counts = await db.job.groupBy({
      by: ["state"],
      where: { clusterId, state: { in: [...OPEN_JOB_STATES] } },
      _count: { _all: true },
    });
    const openJobs = { queued: 0, ready: 0, leased: 0, acked: 0 };
    for (const row of counts) openJobs[row.state as keyof typeof openJobs] = row._count._all;
    return { cluster, openJobs };
  }

  return { markSilentClustersDisconnected, checkJobChannels, clusterHealth };
}

export type HealthService = ReturnType<typeof createHealthService>;
