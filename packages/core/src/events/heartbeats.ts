import type { ClusterInfo, Condition } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { RefusedCredentialState } from "../credentials/credentials.service.ts";
import type { Db } from "../db.ts";
import type { ChangeNotifier } from "../notifier.ts";

/** Refused polls by the state of the credential they carried (the `pollAuthFailures` column). */
export type PollAuthFailures = Partial<Record<RefusedCredentialState, { count: number; lastAt: string }>>;

interface Pending {
  /** Authenticated contact; unset for an entry that holds only refused polls. */
  seenAt?: Date;
  heartbeatAt?: Date;
  polledAt?: Date;
  /** Refused polls since the last authenticated one seen here. */
  pollRefusals?: PollAuthFailures;
  /** An authenticated poll came: the stored refusals are history, replace them. */
  resetRefusals?: boolean;
  conditions?: Condition[];
  versions?: ClusterInfo;
}

interface Deps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
  /** Runtime fields are pushed to Odoo on changes, and at least this often while heartbeats flow. */
  odooRefreshMs?: number;
  onError?: (error: unknown) => void;
}

const ts = (date: Date | undefined) => (date ? date.toISOString() : null);

/**
 * Coalesces "cluster was seen", heartbeats and the job channel's polls (successful and refused)
 * in memory and writes them in one statement per flush (every second): ten thousand clusters
 * heartbeating and polling cost one UPDATE a second, not ten thousand transactions a minute. A
 * crash loses at most the last second of these times, which the next request restores.
 */
export function createHeartbeatCoalescer({
  db,
  clock,
  audit,
  notifier,
  odooRefreshMs = 300_000,
  onError,
}: Deps) {
  let pending = new Map<string, Pending>();
  let flushing: Promise<void> | undefined;
  const refusalCounts = new Map<RefusedCredentialState, number>();

  function entryOf(clusterId: string): Pending {
    let entry = pending.get(clusterId);
    if (!entry) {
      entry = {};
      pending.set(clusterId, entry);
    }
    return entry;
  }

  function seen(clusterId: string) {
    entryOf(clusterId).seenAt = clock.now();
  }

  function heartbeat(
    clusterId: string,
    data: { conditions?: Condition[] | undefined; versions?: ClusterInfo | undefined },
  ) {
    const now = clock.now();
    const entry = entryOf(clusterId);
    entry.seenAt = now;
    entry.heartbeatAt = now;
    if (data.conditions && data.conditions.length > 0) entry.conditions = data.conditions;
    if (data.versions) entry.versions = { ...entry.versions, ...data.versions };
  }

  /** An authenticated job poll: the job channel works (its refusals until now are history). */
  function polled(clusterId: string) {
    const entry = entryOf(clusterId);
    entry.polledAt = clock.now();
    entry.pollRefusals = undefined;
    entry.resetRefusals = true;
  }

  /** A poll refused for a credential of this cluster that no longer works. */
  function pollRefused(clusterId: string, state: RefusedCredentialState) {
    const entry = entryOf(clusterId);
    const refusals = entry.pollRefusals ?? {};
    refusals[state] = { count: (refusals[state]?.count ?? 0) + 1, lastAt: clock.now().toISOString() };
    entry.pollRefusals = refusals;
    refusalCounts.set(state, (refusalCounts.get(state) ?? 0) + 1);
  }

  async function write(batch: Map<string, Pending>) {
    // Keys left undefined are left out of the JSON (read as NULL): a plain heartbeat stays small.
    const rows = [...batch.entries()].map(([id, entry]) => ({
      id,
      seen: ts(entry.seenAt),
      hb: ts(entry.heartbeatAt),
      conditions: entry.conditions ?? null,
      ov: entry.versions?.operatorVersion ?? null,
      fv: entry.versions?.fluxVersion ?? null,
      vv: entry.versions?.veleroVersion ?? null,
      kv: entry.versions?.kubernetesVersion ?? null,
      polled: entry.polledAt?.toISOString(),
      refusals: entry.pollRefusals,
      reset: entry.resetRefusals,
    }));
    const now = clock.now();
    const changed = await db.$queryRaw<
      {
        id: string;
        organizationId: string;
        reconnected: boolean;
        versionsChanged: boolean;
        pushDue: boolean;
      }[]
    >`
      WITH v AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS x(id uuid, seen timestamp, hb timestamp, conditions jsonb, ov text, fv text, vv text, kv text,
               polled timestamp, refusals jsonb, reset boolean)
      ), old AS (
        -- The statement's snapshot: values before this UPDATE (no FOR UPDATE, which would read
        -- the row as updated by this very statement).
        SELECT c.id, c.status, c."operatorVersion", c."fluxVersion", c."veleroVersion", c."kubernetesVersion", c."odooPushedAt"
        FROM "Cluster" c JOIN v ON v.id = c.id
      ), updated AS (
        UPDATE "Cluster" c SET
          "lastSeenAt" = GREATEST(c."lastSeenAt", v.seen),
          "lastHeartbeatAt" = CASE WHEN v.hb IS NULL THEN c."lastHeartbeatAt" ELSE GREATEST(c."lastHeartbeatAt", v.hb) END,
          -- Only authenticated contact reconnects; a refused poll is no sign of life.
          status = CASE WHEN c.status = 'disconnected' AND v.seen IS NOT NULL THEN 'connected'::"ClusterStatus" ELSE c.status END,
          "lastPollAt" = CASE WHEN v.polled IS NULL THEN c."lastPollAt" ELSE GREATEST(c."lastPollAt", v.polled) END,
          "pollAuthFailures" = CASE
            WHEN v.reset THEN v.refusals
            WHEN v.refusals IS NULL THEN c."pollAuthFailures"
            -- Counts add up; lastAt is the later one (ISO strings of one format compare as times).
            ELSE (SELECT jsonb_object_agg(k, jsonb_build_object(
                    'count', COALESCE((c."pollAuthFailures"->k->>'count')::int, 0) + COALESCE((v.refusals->k->>'count')::int, 0),
                    'lastAt', GREATEST(c."pollAuthFailures"->k->>'lastAt', v.refusals->k->>'lastAt')))
                  FROM jsonb_object_keys(COALESCE(c."pollAuthFailures", '{}'::jsonb) || v.refusals) AS k)
          END,
          conditions = COALESCE(v.conditions, c.conditions),
          "operatorVersion" = COALESCE(v.ov, c."operatorVersion"),
          "fluxVersion" = COALESCE(v.fv, c."fluxVersion"),
          "veleroVersion" = COALESCE(v.vv, c."veleroVersion"),
          "kubernetesVersion" = COALESCE(v.kv, c."kubernetesVersion")
        FROM v WHERE c.id = v.id
        RETURNING c.id, c."organizationId", c.status, c."operatorVersion", c."fluxVersion", c."veleroVersion", c."kubernetesVersion",
          v.hb IS NOT NULL AS heartbeat
      )
      , outbox AS (
        -- The reconnection's domain event, written by this very statement (the transactional outbox).
        INSERT INTO "OutboxEvent" (kind, "organizationId", "clusterId", data, "createdAt")
        SELECT 'ClusterReconnected', u."organizationId", u.id, '{}'::jsonb, ${ts(now)}::timestamp
        FROM updated u JOIN old o ON o.id = u.id
        WHERE o.status = 'disconnected' AND u.status = 'connected'
      )
      SELECT * FROM (
        SELECT u.id::text AS id, u."organizationId"::text AS "organizationId",
          (o.status = 'disconnected' AND u.status = 'connected') AS reconnected,
          (u."operatorVersion" IS DISTINCT FROM o."operatorVersion" OR u."fluxVersion" IS DISTINCT FROM o."fluxVersion"
            OR u."veleroVersion" IS DISTINCT FROM o."veleroVersion" OR u."kubernetesVersion" IS DISTINCT FROM o."kubernetesVersion") AS "versionsChanged",
          (o."odooPushedAt" IS NULL OR o."odooPushedAt" < ${ts(new Date(now.getTime() - odooRefreshMs))}::timestamp) AS "pushDue",
          u.heartbeat
        -- Not joined with v again: the planner takes v for 100 rows and a nested loop over
        -- thousands of rows made this statement quadratic (0.9 s for 3,000 heartbeats).
        FROM updated u JOIN old o ON o.id = u.id
      ) changes
      -- Only the rows that need a follow-up come back: thousands of plain heartbeats cost nothing here.
      WHERE reconnected OR "versionsChanged" OR ("pushDue" AND heartbeat)`;

    const reconnected = changed.filter((row) => row.reconnected);
    await audit.recordMany(
      reconnected.map((row) => ({
        source: "system" as const,
        kind: "Connected",
        actor: "system",
        organizationId: row.organizationId,
        clusterId: row.id,
        data: { reason: "agent contact after a heartbeat timeout" },
      })),
    );
    // A reconnection wrote its outbox event; new versions complete a first connection's message.
    if (reconnected.length > 0 || changed.some((row) => row.versionsChanged)) await notifier.outboxWritten();
    for (const row of changed) {
      const heartbeatSent = batch.get(row.id)?.heartbeatAt !== undefined;
      if (row.reconnected || row.versionsChanged || (heartbeatSent && row.pushDue))
        await notifier.clusterChanged(row.id);
    }
  }

  /** Writes everything accumulated so far, after any write already running. */
  async function flush(): Promise<void> {
    // A write already running holds an older batch: wait for it, then write what came since,
    // so that after flush() everything seen before the call is in the database.
    while (flushing) await flushing;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    flushing = write(batch)
      .catch((error: unknown) => {
        // Keep the newer values that arrived meanwhile; put the failed batch back under them.
        for (const [id, entry] of batch) if (!pending.has(id)) pending.set(id, entry);
        onError?.(error);
      })
      .finally(() => {
        flushing = undefined;
      });
    return flushing;
  }

  let timer: NodeJS.Timeout | undefined;
  function start(everyMs = 1_000) {
    timer ??= setInterval(() => void flush(), everyMs);
    timer.unref();
  }

  /** Stops the timer and writes everything, including what arrived during a write in progress. */
  async function stop() {
    if (timer) clearInterval(timer);
    timer = undefined;
    await flush();
    // A failed write puts its batch back; a few more tries before giving up.
    for (let round = 0; round < 9 && pending.size > 0; round += 1) await flush();
  }

  return {
    seen,
    heartbeat,
    polled,
    pollRefused,
    flush,
    start,
    stop,
    pendingCount: () => pending.size,
    /** Refused polls by credential state since this process started (for /metrics). */
    pollRefusalCounts: () => new Map(refusalCounts),
  };
}

export type HeartbeatCoalescer = ReturnType<typeof createHeartbeatCoalescer>;
