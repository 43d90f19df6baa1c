import {
  type AuditService,
  type ChangeNotifier,
  type Clock,
  type Config,
  closeDb,
  createClustersService,
  createCoreServices,
  createDb,
  createDispatchService,
  createExecutorChannel,
  createPushCredentialsService,
  createPushJobExecutor,
  createPushWatchSupervisor,
  credentialSealerFor,
  type Db,
  type ExecutorMode,
  type JobExecutor,
  type Logger,
  type PushWatchOptions,
  signingKeysFor,
  systemClock,
} from "@vwksp/core";
import {
  createChangeNotifier,
  createDrainGate,
  createJobSignals,
  createLeases,
  createPubSub,
  createQueues,
  createRedis,
  redisTarget,
} from "@vwksp/queue";
import { createWorkerMetrics } from "./metrics/worker-metrics.ts";

type Executors = Partial<Record<ExecutorMode, JobExecutor>>;
export interface ExecutorServices {
  db: Db;
  clock: Clock;
  audit: AuditService;
  notifier: ChangeNotifier;
}

interface WorkerOverrides {
  clock?: Clock;
  db?: Db;
  /**
   * Who performs the jobs of push and GitOps clusters (none: their jobs wait, ready); a function
   * builds them from the worker's own services. With SECRET_KEY the push executor is there unless
   * replaced here.
   */
  executors?: Executors | ((services: ExecutorServices) => Executors);
  /** Shorter backoffs for the push watches (tests). */
  pushWatchOptions?: PushWatchOptions;
  /** Delays between webhook attempts (production: about a day in all). */
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
  const signals = createJobSignals({
    queues,
    pubsub,
    redis,
    prefix: config.REDIS_PREFIX,
    onError: (error) => logger.warn({ err: error }, "job signal failed"),
  });
  const drainGate = createDrainGate({ redis, prefix: config.REDIS_PREFIX, signals });
  const signingKeys = signingKeysFor(config);
  const notifier = createChangeNotifier({
    pubsub,
    queues,
    odooEnabled: config.ODOO_URL !== undefined,
    onError: (error, context) => logger.warn({ err: error }, context),
  });
  // Jobs: deploy and delete requests that come from Odoo (ODOO_APPLICATION_MODEL) take the API's
  // path. Heartbeats and events: push mode's status path (the push watches below feed them).
  const core = createCoreServices(
    { db, clock, config, notifier, signals },
    {
      onHeartbeatError: (error) => logger.warn({ err: error }, "writing push clusters' heartbeats failed"),
      webhookRetryDelaysMs: overrides.webhookRetryDelaysMs,
    },
  );
  const { audit, applications, jobs, delivery, heartbeats, events, health, webhooks } = core;
  const dispatch = createDispatchService({ db, clock, audit, signals, applications, signingKeys });
  const sealer = credentialSealerFor(config);
  // Without SECRET_KEY no kubeconfig is stored, so there is no push mode to serve.
  const pushCredentials = sealer
    ? createPushCredentialsService({
        db,
        clock,
        audit,
        notifier,
        sealer,
        validationTimeoutMs: config.PUSH_VALIDATION_TIMEOUT_MS,
      })
    : undefined;
  const executors: Partial<Record<ExecutorMode, JobExecutor>> = {
    ...(pushCredentials
      ? {
          push: createPushJobExecutor({
            clock,
            credentials: pushCredentials,
            requestTimeoutMs: config.PUSH_REQUEST_TIMEOUT_MS,
            onError: (error, context) => logger.warn({ err: error }, context),
          }),
        }
      : {}),
    ...(typeof overrides.executors === "function"
      ? overrides.executors({ db, clock, audit, notifier })
      : overrides.executors),
  };
  const executorChannel = createExecutorChannel({ db, clock, delivery, applications, executors });
  // Push mode's status path: the watches of the push clusters this worker holds the lease of,
  // feeding the events service as an agent's events do (started by main.ts, or a test).
  const pushWatches = pushCredentials
    ? createPushWatchSupervisor({
        db,
        clock,
        credentials: pushCredentials,
        events,
        leases: createLeases({
          redis,
          prefix: config.REDIS_PREFIX,
          name: "push-watch",
          ttlMs: config.PUSH_WATCH_LEASE_SECONDS * 1000,
        }),
        leaseMs: config.PUSH_WATCH_LEASE_SECONDS * 1000,
        heartbeatFreshSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
        requestTimeoutMs: config.PUSH_REQUEST_TIMEOUT_MS,
        ...(overrides.pushWatchOptions ? { watchOptions: overrides.pushWatchOptions } : {}),
        onError: (error, context, clusterId) => logger.warn({ err: error, clusterId }, context),
        onInfo: (message, clusterId) => logger.info({ clusterId }, message),
      })
    : undefined;
  /** Starts the push watches (a round every third of the lease) and the heartbeat writes. */
  function startPushWatches() {
    if (!pushWatches) return;
    heartbeats.start();
    pushWatches.start(Math.max(1_000, (config.PUSH_WATCH_LEASE_SECONDS * 1000) / 3));
  }
  const clusters = createClustersService({ db, clock, audit, notifier, signingKeys });
  const metrics = createWorkerMetrics({ db, clock, queues, odooEnabled: config.ODOO_URL !== undefined });

  async function close() {
    await pushWatches?.stop();
    await heartbeats.stop();
    signals.stop();
    pubsub.close();
    await queues.close();
    redis.disconnect();
    await closeDb(db);
  }

  return {
    config,
    logger,
    clock,
    drainGate,
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
    pushCredentials,
    pushWatches,
    startPushWatches,
    heartbeats,
    events,
    notifier,
    health,
    metrics,
    webhooks,
    close,
  };
}

export type WorkerDeps = ReturnType<typeof createWorkerDeps>;
