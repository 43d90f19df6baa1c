import {
  type Clock,
  type Config,
  closeDb,
  createApiKeysService,
  createAuditService,
  createCatalogService,
  createClustersService,
  createCredentialsService,
  createDb,
  createDeliveryService,
  createEventQueries,
  createEventsService,
  createHealthService,
  createHeartbeatCoalescer,
  createJobsService,
  createRegistrationTokensService,
  type Db,
  signingKeysFor,
  systemClock,
} from "@vwksp/core";
import {
  createChangeNotifier,
  createJobSignals,
  createPubSub,
  createQueues,
  createRedis,
  parseJobsReady,
} from "@vwksp/queue";
import type { Redis } from "ioredis";
import { createFailureLimiter } from "./auth/failure-limiter.ts";

/** Everything the HTTP layer needs, built once per process (tests build their own). */
export function createApiDeps(
  config: Config,
  overrides: { clock?: Clock; db?: Db; reportError?: (error: unknown, context: string) => void } = {},
) {
  const clock = overrides.clock ?? systemClock;
  const reportError = overrides.reportError ?? (() => {});
  const db =
    overrides.db ??
    createDb(config.DATABASE_URL, {
      poolSize: config.DATABASE_POOL_SIZE,
      // Requests answer within seconds: a statement that takes longer is cancelled (503).
      statementTimeoutMs: 5_000,
      onConnectionLost: (error) => reportError(error, "database connection lost"),
    });
  const redis: Redis = createRedis(config.REDIS_URL, "commands");
  const queues = createQueues({ connection: redis, prefix: config.REDIS_PREFIX });
  // Pub/sub and the notifier need the credentials cache, which needs the notifier: late-bound.
  let invalidateLocally: (clusterId: string) => void = () => {};
  let invalidateAllLocally: () => void = () => {};
  // After a gap in the subscription, invalidations may have been missed: drop cached credentials.
  const pubsub = createPubSub({
    url: config.REDIS_URL,
    prefix: config.REDIS_PREFIX,
    publisher: redis,
    onResubscribed: () => invalidateAllLocally(),
  });
  const audit = createAuditService({ db, clock });
  const apiKeys = createApiKeysService({ db, clock });

  const notifier = createChangeNotifier({
    pubsub,
    queues,
    odooEnabled: config.ODOO_URL !== undefined,
    onLocalAuthChange: (clusterId) => invalidateLocally(clusterId),
    onError: (error, context) => reportError(error, context),
  });
  const credentials = createCredentialsService({
    db,
    clock,
    audit,
    notifier,
    ttlSeconds: config.CREDENTIAL_TTL_SECONDS,
    rotationGraceSeconds: config.CREDENTIAL_ROTATION_GRACE_SECONDS,
  });
  invalidateLocally = credentials.invalidateCluster;
  invalidateAllLocally = credentials.invalidateAll;
  const clusters = createClustersService({ db, clock, audit, notifier, signingKeys: signingKeysFor(config) });
  const registrationTokens = createRegistrationTokensService({ db, clock, audit, credentials, notifier });
  const signals = createJobSignals({ queues, pubsub, onError: (error) => reportError(error, "job signal") });
  const jobs = createJobsService({
    db,
    clock,
    audit,
    signals,
    defaultExpiresSeconds: config.JOB_DEFAULT_EXPIRES_SECONDS,
  });
  const delivery = createDeliveryService({
    db,
    clock,
    leaseSeconds: config.AGENT_LEASE_SECONDS,
    ackTimeoutSeconds: config.JOB_ACK_TIMEOUT_SECONDS,
    maxDeliveries: config.JOB_MAX_DELIVERIES,
  });
  const catalog = createCatalogService({ db, clock, audit });
  const heartbeats = createHeartbeatCoalescer({
    db,
    clock,
    audit,
    notifier,
    onError: (error) => reportError(error, "heartbeat flush"),
  });
  const events = createEventsService({ db, clock, audit, heartbeats });
  const eventQueries = createEventQueries({ db });
  const health = createHealthService({
    db,
    clock,
    audit,
    notifier,
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
  });
  const failureLimiter = createFailureLimiter({
    redis,
    prefix: config.REDIS_PREFIX,
    limitPerMinute: config.AUTH_FAILURE_LIMIT_PER_MINUTE,
    clock,
  });
  // Admin keys are counted apart: someone guessing keys on /api/v1 from behind the same address
  // (a proxy without TRUST_PROXY) must not lock the agents out, nor the other way round.
  const adminFailureLimiter = createFailureLimiter({
    redis,
    prefix: `${config.REDIS_PREFIX}:admin`,
    limitPerMinute: config.AUTH_FAILURE_LIMIT_PER_MINUTE,
    clock,
  });

  /** Subscriptions every API process holds: credential invalidations and job wake-ups. */
  async function startRealtime(onJobsReady: (clusterId: string) => void) {
    await pubsub.subscribe("auth-invalidate", (clusterId) => credentials.invalidateCluster(clusterId));
    await pubsub.subscribe("jobs-ready", (message) => {
      for (const clusterId of parseJobsReady(message)) onJobsReady(clusterId);
    });
  }

  async function close() {
    await heartbeats.stop();
    pubsub.close();
    await queues.close();
    redis.disconnect();
    await closeDb(db);
  }

  return {
    config,
    clock,
    db,
    redis,
    queues,
    pubsub,
    notifier,
    audit,
    apiKeys,
    credentials,
    clusters,
    registrationTokens,
    signals,
    jobs,
    delivery,
    catalog,
    heartbeats,
    events,
    eventQueries,
    health,
    failureLimiter,
    adminFailureLimiter,
    startRealtime,
    close,
  };
}

export type ApiDeps = ReturnType<typeof createApiDeps>;
