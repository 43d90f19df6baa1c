import {
  type Clock,
  type Config,
  closeDb,
  createApplicationsService,
  createAuditService,
  createClustersService,
  createDb,
  createDeliveryService,
  createDispatchService,
  createExecutorChannel,
  createHealthService,
  createJobsService,
  createWebhooksService,
  credentialSealerFor,
  type Db,
  type ExecutorMode,
  type JobExecutor,
  type Logger,
  signingKeysFor,
  systemClock,
} from "@vwksp/core";
import {
  createChangeNotifier,
  createJobSignals,
  createPubSub,
  createQueues,
  createRedis,
  redisTarget,
} from "@vwksp/queue";
import { createWorkerMetrics } from "./metrics/worker-metrics.ts";

interface WorkerOverrides {
  clock?: Clock;
  db?: Db;
  /** Who performs the jobs of push and GitOps clusters (none: their jobs wait, ready). */
  executors?: Partial<Record<ExecutorMode, JobExecutor>>;
  /** Delays between webhook attempts (production: WEBHOOK_RETRY_DELAYS_MS, about a day). */
  webhookRetryDelaysMs?: number[];
}

/** What the processors need, built once per worker process (tests build their own). */
export function createWorkerDeps(config: Config, logger: Logger, overrides: WorkerOverrides = {}) {
  const clock = overrides.clock ?? systemClock;
  const db =
    overrides.db ??
    createDb(config.DATABASE_URL, {
      poolSize: config.DATABASE_POOL_SIZE,
      // Maintenance statements (sweeps, pruning in batches) may take a while; nobody waits on them.
      statementTimeoutMs: 30_000,
      onConnectionLost: (error) => logger.warn({ err: error }, "database connection lost"),
    });
  const redis = createRedis(redisTarget(config), "commands");
  const queues = createQueues({ connection: redis, prefix: config.REDIS_PREFIX });
  // The worker only publishes; its pub/sub never opens a subscriber connection.
  const pubsub = createPubSub({ url: redisTarget(config), prefix: config.REDIS_PREFIX, publisher: redis });
  const audit = createAuditService({ db, clock });
  const signals = createJobSignals({
    queues,
    pubsub,
    onError: (error) => logger.warn({ err: error }, "job signal failed"),
  });
  const signingKeys = signingKeysFor(config);
  const notifier = createChangeNotifier({
    pubsub,
    queues,
    odooEnabled: config.ODOO_URL !== undefined,
    onError: (error, context) => logger.warn({ err: error }, context),
  });
  const applications = createApplicationsService({ db, clock, audit, notifier });
  const dispatch = createDispatchService({ db, clock, audit, signals, applications, signingKeys });
  // Deploy and delete requests that come from Odoo (ODOO_APPLICATION_MODEL) take the API's path.
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
  });
  const executorChannel = createExecutorChannel({
    db,
    clock,
    delivery,
    applications,
    executors: overrides.executors ?? {},
  });
  const clusters = createClustersService({ db, clock, audit, notifier, signingKeys });
  const metrics = createWorkerMetrics({ db, clock, queues, odooEnabled: config.ODOO_URL !== undefined });
  const health = createHealthService({
    db,
    clock,
    audit,
    notifier,
    heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
    jobChannelStaleSeconds: config.JOB_CHANNEL_STALE_SECONDS,
  });

  const webhooks = createWebhooksService({
    db,
    clock,
    sealer: credentialSealerFor(config),
    allowPrivate: config.WEBHOOKS_ALLOW_PRIVATE,
    ...(overrides.webhookRetryDelaysMs ? { retryDelaysMs: overrides.webhookRetryDelaysMs } : {}),
  });

  async function close() {
    pubsub.close();
    await queues.close();
    redis.disconnect();
    await closeDb(db);
  }

  return {
    config,
    logger,
    clock,
    db,
    redis,
    queues,
    pubsub,
    audit,
    clusters,
    signals,
    applications,
    dispatch,
    executorChannel,
    jobs,
    notifier,
    health,
    metrics,
    webhooks,
    close,
  };
}

export type WorkerDeps = ReturnType<typeof createWorkerDeps>;
