import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { notFound } from "../errors.ts";
import type { ChangeNotifier } from "../notifier.ts";

const ts = (date: Date) => date.toISOString();

/** Cluster liveness: the worker marks silent clusters disconnected; contact reconnects them. */
export function createHealthService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  heartbeatTimeoutSeconds: number;
}) {
  const { db, clock, audit, notifier } = deps;

  /** Flips connected clusters that were silent for HEARTBEAT_TIMEOUT_SECONDS to disconnected. */
  async function markSilentClustersDisconnected() {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - deps.heartbeatTimeoutSeconds * 1000);
    const flipped = await db.$queryRaw<{ id: string; organizationId: string; lastSeenAt: Date | null }[]>`
      UPDATE "Cluster" SET status = 'disconnected', "updatedAt" = ${ts(now)}::timestamp
      WHERE status = 'connected' AND COALESCE("lastSeenAt", "registeredAt", "createdAt") < ${ts(cutoff)}::timestamp
      RETURNING id::text AS id, "organizationId"::text AS "organizationId", "lastSeenAt"`;
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
    return { disconnected: flipped.length };
  }

  async function clusterHealth(organizationId: string, clusterId: string) {
    const cluster = await db.cluster.findFirst({ where: { id: clusterId, organizationId } });
    if (!cluster) throw notFound(`cluster ${clusterId} not found`);
    const counts = await db.job.groupBy({
      by: ["state"],
      where: { clusterId, state: { in: ["queued", "ready", "leased", "acked"] } },
      _count: { _all: true },
    });
    const openJobs = { queued: 0, ready: 0, leased: 0, acked: 0 };
    for (const row of counts) openJobs[row.state as keyof typeof openJobs] = row._count._all;
    return { cluster, openJobs };
  }

  return { markSilentClustersDisconnected, clusterHealth };
}

export type HealthService = ReturnType<typeof createHealthService>;

/** Deletes agent events older than the retention period, in bounded batches. */
export async function pruneEvents({
  db,
  clock,
  retentionDays,
}: {
  db: Db;
  clock: Clock;
  retentionDays: number;
}) {
  const cutoff = new Date(clock.now().getTime() - retentionDays * 86_400_000);
  let deleted = 0;
  for (;;) {
    const batch = await db.$executeRaw`
      DELETE FROM "AgentEvent" WHERE id IN (
        SELECT id FROM "AgentEvent" WHERE "receivedAt" < ${ts(cutoff)}::timestamp LIMIT 5000)`;
    deleted += batch;
    if (batch < 5000) return { deleted };
  }
}
