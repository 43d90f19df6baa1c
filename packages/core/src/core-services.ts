import { createApplicationsService } from "./applications/applications.service.ts";
import { createAuditService } from "./audit/audit.service.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import type { Db } from "./db.ts";
import { createEventsService } from "./events/events.service.ts";
import { createHeartbeatCoalescer } from "./events/heartbeats.ts";
import { createHealthService } from "./health/health.service.ts";
import { type ClaimedJob, createDeliveryService } from "./jobs/delivery.service.ts";
import { createJobsService } from "./jobs/jobs.service.ts";
import type { JobSignals } from "./jobs/signals.ts";
import type { ChangeNotifier } from "./notifier.ts";
import { credentialSealerFor } from "./secrets/secret-key.ts";
import { createWebhooksService } from "./webhooks/webhooks.service.ts";

/** What every core service is built on; the notifier and the signals are Redis-backed in the apps. */
export interface CoreServiceDeps {
  db: Db;
  clock: Clock;
  config: Config;
  notifier: ChangeNotifier;
  signals: JobSignals;
}

/**
 * The services the API and the worker both build, and build alike: audit, applications, jobs
 * and their delivery, heartbeats and events, cluster health, webhooks. Each app's deps.ts
 * calls this once and adds what only it needs; what differs between them comes in here.
 */
export function createCoreServices(
  { db, clock, config, notifier, signals }: CoreServiceDeps,
  hooks: {
    /** Told of every claim (the API's delivery latency metrics). */
    onClaimed?: (jobs: readonly ClaimedJob[], at: Date) => void;
    /** A coalesced heartbeat write failed. */
    onHeartbeatError: (error: unknown) => void;
    /** Delays between webhook attempts (production: about a day in all). */
    webhookRetryDelaysMs?: number[];
  },
) {
  const audit = createAuditService({ db, clock });
  const applications = createApplicationsService({ db, clock, audit, notifier });
  const jobs = createJobsService({
    db,
    clock,
    audit,
    signals,
    applications,
    notifier,
    defaultExpiresSeconds: config.JOB_DEFAULT_EXPIRES_SECONDS,
  });
  const delivery = createDeliveryService({
    db,
    clock,
    leaseSeconds: config.AGENT_LEASE_SECONDS,
    ackTimeoutSeconds: config.JOB_ACK_TIMEOUT_SECONDS,
    maxDeliveries: config.JOB_MAX_DELIVERIES,
    onClaimed: hooks.onClaimed,
    notifier,
  });
  const heartbeats = createHeartbeatCoalescer({
    db,
    clock,
    audit,
    notifier,
    onError: hooks.onHeartbeatError,
  });
  const events = createEventsService({ db, clock, audit, heartbeats, notifier, applications });
  const health = createHealthService({
    db,
    clock,
    audit,
    notifier,
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
    jobChannelStaleSeconds: config.JOB_CHANNEL_STALE_SECONDS,
    flushPending: () => heartbeats.flush(),
  });
  const webhooks = createWebhooksService({
    db,
    clock,
    sealer: credentialSealerFor(config),
    allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE,
    retryDelaysMs: hooks.webhookRetryDelaysMs,
  });
  return { audit, applications, jobs, delivery, heartbeats, events, health, webhooks };
}

export type CoreServices = ReturnType<typeof createCoreServices>;
