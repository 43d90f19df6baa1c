import {
  type Argon2Pool,
  type Clock,
  type Config,
  closeDb,
  createApiKeyLifecycle,
  createApiKeysService,
  createCatalogService,
  createClustersService,
  createClusterView,
  createCoreServices,
  createCredentialsService,
  createDb,
  createEventQueries,
  createGitOpsService,
  createJobQueries,
  createOdooOwnership,
  createOdooStatusReader,
  createOrganizationsService,
  createPushCredentialsService,
  createRegistrationTokensService,
  credentialSealerFor,
  type Db,
  parseFieldMap,
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
  redisTarget,
} from "@vwksp/queue";
import type { Redis } from "ioredis";
import { createFailureLimiter } from "./auth/failure-limiter.ts";
import { createApiGitOpsEngine } from "./gitops-engine.ts";
import { createApiMetrics } from "./metrics/api-metrics.ts";

/** Everything the HTTP layer needs, built once per process (tests build their own). */
export function createApiDeps(
  config: Config,
  overrides: {
    clock?: Clock;
    db?: Db;
    /** argon2 with other bounds than the process's pool (tests of its shedding). */
    argon2?: Argon2Pool;
    reportError?: (error: unknown, context: string) => void;
  } = {},
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
  const redis: Redis = createRedis(redisTarget(config), "commands");
  const queues = createQueues({ connection: redis, prefix: config.REDIS_PREFIX });
  // Pub/sub and the notifier need the credentials cache, which needs the notifier: late-bound.
  let invalidateLocally: (clusterId: string) => void = () => {};
  let invalidateAllLocally: () => void = () => {};
  // After a gap in the subscription, invalidations may have been missed: drop cached credentials.
  const pubsub = createPubSub({
    url: redisTarget(config),
    prefix: config.REDIS_PREFIX,
    publisher: redis,
    onResubscribed: () => {
      invalidateAllLocally();
      apiKeys.invalidateAll();
    },
  });
  const notifier = createChangeNotifier({
    pubsub,
    queues,
    odooEnabled: config.ODOO_URL !== undefined,
    onLocalAuthChange: (clusterId) => invalidateLocally(clusterId),
    onError: (error, context) => reportError(error, context),
  });
  const signals = createJobSignals({
    queues,
    pubsub,
    redis,
    prefix: config.REDIS_PREFIX,
    onError: (error) => reportError(error, "job signal"),
  });
  const metrics = createApiMetrics({ db, clock });
  const core = createCoreServices(
    { db, clock, config, notifier, signals },
    {
      onClaimed: metrics.jobsClaimed,
      onHeartbeatError: (error) => reportError(error, "heartbeat flush"),
    },
  );
  const { audit, applications, jobs, delivery, heartbeats, events, health, webhooks } = core;
  const apiKeys = createApiKeysService({ db, clock });
  const apiKeyLifecycle = createApiKeyLifecycle({
    db,
    clock,
    audit,
    keys: apiKeys,
    // This process at once; the others over pub/sub (their cache lasts 5 s should it be lost).
    keyChanged: async (keyId) => {
      apiKeys.invalidateKey(keyId);
      await pubsub
        .publish("api-key-invalidate", keyId)
        .catch((error: unknown) => reportError(error, "API key invalidation"));
    },
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
  const clusters = createClustersService({
    db,
    clock,
    audit,
    notifier,
    signingKeys: signingKeysFor(config),
    // While the Odoo bridge is on, Odoo owns the clusters' configuration (docs/odoo-integration.md).
    ...(config.ODOO_URL
      ? {
          ownedByOdoo: createOdooOwnership({
            db,
            fields: parseFieldMap(config.ODOO_FIELD_MAP, config.ODOO_ORGANIZATION_FIELD),
          }),
        }
      : {}),
  });
  const gitopsEngine = createApiGitOpsEngine(config);
  const gitops = createGitOpsService({
    db,
    clock,
    audit,
    sealer: credentialSealerFor(config),
    engine: gitopsEngine.port,
  });
  const pushCredentials = createPushCredentialsService({
    db,
    clock,
    audit,
    notifier,
    sealer: credentialSealerFor(config),
    validationTimeoutMs: config.PUSH_VALIDATION_TIMEOUT_MS,
  });
  const registrationTokens = createRegistrationTokensService({
    db,
    clock,
    audit,
    credentials,
    notifier,
    ...(overrides.argon2 ? { argon2: overrides.argon2 } : {}),
    // GitOps clusters: the token reaches the cluster out of band, never through Git.
    secretCommandFor: gitops.registrationSecretCommand,
  });
  const clusterView = createClusterView({ pushCredentials, gitops });
  const catalog = createCatalogService({ db, clock, audit });
  const organizations = createOrganizationsService({ db, clock, audit });
  metrics.trackAgentCounts(() => ({
    pollRefusals: heartbeats.pollRefusalCounts(),
    unprojectedEvents: events.skippedCounts(),
  }));
  const eventQueries = createEventQueries({ db });
  const jobQueries = createJobQueries(db);
  const odooStatus = createOdooStatusReader({
    db,
    enabled: config.ODOO_URL !== undefined,
    configuredProtocol: config.ODOO_PROTOCOL,
    pendingSyncJobs: async () => {
      const counts = await queues
        .queue("odoo-sync")
        .getJobCounts("waiting", "delayed", "active", "prioritized");
      return Object.values(counts).reduce((sum, count) => sum + count, 0);
    },
  });
  // One limiter per kind of secret: guessed admin keys or webhook secrets must not change how
  // agents' failures are answered, nor the other way round.
  const failureLimiter = (kind: string) =>
    createFailureLimiter({
      redis,
      prefix: `${config.REDIS_PREFIX}:authfail:${kind}`,
      limitPerMinute: config.AUTH_FAILURE_LIMIT_PER_MINUTE,
      clock,
    });
  const agentFailures = failureLimiter("agent");
  const adminFailures = failureLimiter("admin");
  const webhookFailures = failureLimiter("webhook");

  /** Subscriptions every API process holds: credential and API key invalidations. */
  async function startRealtime() {
    await pubsub.subscribe("auth-invalidate", (clusterId) => credentials.invalidateCluster(clusterId));
    await pubsub.subscribe("api-key-invalidate", (keyId) => apiKeys.invalidateKey(keyId));
  }

  /** Job wake-ups: the worker made jobs of these clusters claimable (the long-poll subscribes). */
  function subscribeJobsReady(onJobsReady: (clusterId: string) => void) {
    return pubsub.subscribe("jobs-ready", (message) => {
      for (const clusterId of parseJobsReady(message)) onJobsReady(clusterId);
    });
  }

  async function close() {
    await heartbeats.stop();
    signals.stop();
    pubsub.close();
    await queues.close();
    redis.disconnect();
    await closeDb(db);
    await gitopsEngine.close();
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
    apiKeyLifecycle,
    webhooks,
    credentials,
    clusters,
    pushCredentials,
    clusterView,
    registrationTokens,
    gitops,
    signals,
    applications,
    jobs,
    delivery,
    catalog,
    organizations,
    heartbeats,
    events,
    eventQueries,
    jobQueries,
    health,
    odooStatus,
    metrics,
    agentFailures,
    adminFailures,
    webhookFailures,
    startRealtime,
    subscribeJobsReady,
    close,
  };
}

export type ApiDeps = ReturnType<typeof createApiDeps>;
