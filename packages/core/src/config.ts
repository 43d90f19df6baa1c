import { z } from "zod";
import { parseFieldMap } from "./odoo-sync/field-map.ts";
import { parseApplicationFieldMap, parseCatalogFieldMap } from "./odoo-sync/model-maps.ts";
import { TrustProxySetting } from "./trust-proxy.ts";

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === "" ? undefined : value));
const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[^:[\]\s,]+):([1-9]\d{0,4})$/;
/** `host:port,host:port`: Redis sentinels or cluster seed nodes. */
const hostPortList = optionalString.pipe(
  z
    .string()
    .refine(
      (value) =>
        value
          .split(",")
          .map((entry) => entry.trim())
          .every((entry) => Number(HOST_PORT.exec(entry)?.[1] ?? 0) <= 65_535 && HOST_PORT.test(entry)),
      "must be host:port[,host:port…] (IPv6 as [::1]:26379)",
    )
    .optional(),
);

/** The hash tag of a Redis key (what Redis Cluster hashes to pick its slot), or undefined. */
export function redisHashTag(key: string): string | undefined {
  const open = key.indexOf("{");
  if (open < 0) return undefined;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * Every setting of the service, parsed once from the environment. Nothing else reads process.env.
 * Defaults suit a local machine with PostgreSQL and Redis on their standard ports.
 */
const signingSecret = z
  .string()
  .refine(
    (value) => signingSecretBytes(value) !== undefined,
    "must be 32 bytes as 64 hex characters or base64",
  );

export const ConfigSchema = z.object({
  /** HTTP port of the API. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface the API binds to. */
  HOST: z.string().min(1).default("0.0.0.0"),
  /** PostgreSQL connection string; the database is created by `pnpm db:migrate` when missing. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// URL")
    .default("postgresql://postgres@127.0.0.1:5432/vwksp"),
  /**
   * Connections per pool: each process has one pool for Prisma and one for the hot-path
   * statements, so it opens up to twice this many (on demand).
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Event batches (over 16 KiB) one API process ingests at once; as many again wait their turn
   * (up to 5 s), more get 503 with Retry-After. Each holds a database connection while it runs.
   */
  EVENT_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  /** Redis connection string (BullMQ queues, pub/sub wake-ups, cache invalidation). */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must be a redis:// URL")
    .default("redis://127.0.0.1:6379"),
  /**
   * Prefix of every Redis key and channel, so several deployments can share one Redis. With
   * REDIS_CLUSTER_NODES it must carry a hash tag, e.g. `{vwksp}`: every key then hashes to one
   * slot, as BullMQ's scripts and the limiter's multi-key commands require.
   */
  REDIS_PREFIX: z.string().min(1).max(64).default("vwksp"),
  /**
   * Redis Sentinel instead of one server: the sentinels to ask for the master (`host:port,…`).
   * REDIS_URL then gives only the master's user, password, database and TLS, not its host.
   */
  REDIS_SENTINELS: hostPortList,
  /** The master's name as the sentinels monitor it; required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: optionalString.pipe(z.string().max(200).optional()),
  /** The sentinels' own password (`requirepass` in sentinel.conf), when they have one. */
  REDIS_SENTINEL_PASSWORD: optionalString,
  /**
   * Ask the sentinels over TLS (their `tls-port`), with the same TLS settings as the data
   * connections; a private CA comes in through NODE_EXTRA_CA_CERTS. The master's TLS is
   * REDIS_URL's `rediss://`.
   */
  REDIS_SENTINEL_TLS: z
    .preprocess((value) => (value === "" ? undefined : value), z.enum(["true", "false"]).default("false"))
    .transform((value) => value === "true"),
  /**
   * Redis Cluster instead of one server: some of its nodes (`host:port,…`), from which the
   * client learns the rest. REDIS_URL gives only the user, password and TLS.
   */
  REDIS_CLUSTER_NODES: hostPortList,
  /** pino log level. */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Log lines as JSON (for machines; the default) or pretty for a person at a terminal (`pnpm dev`). */
  LOG_FORMAT: z.enum(["json", "pretty"]).default("json"),
  /** When set, an all-scope API key with this value exists in the default organization. */
  BOOTSTRAP_ADMIN_KEY: optionalString.pipe(
    z
      .string()
      .regex(/^vwksp-key-[A-Za-z0-9_-]{20,200}$/, "must look like vwksp-key-<at least 20 characters>")
      .optional(),
  ),
  /** How long a poll's lease on a job lasts before it is redelivered. */
  AGENT_LEASE_SECONDS: seconds(60),
  /** How long an acked job may go without a status or result before it is redelivered. */
  JOB_ACK_TIMEOUT_SECONDS: seconds(600),
  /** Deliveries after which a job is `undeliverable`. */
  JOB_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),
  /** Default lifetime of a job before it expires undelivered. */
  JOB_DEFAULT_EXPIRES_SECONDS: seconds(900),
  /** Lifetime of an agent credential; unset = no expiry. */
  CREDENTIAL_TTL_SECONDS: z.coerce.number().int().positive().optional(),
  /** How long a rotated-away credential keeps working. */
  CREDENTIAL_ROTATION_GRACE_SECONDS: seconds(86_400),
  /** Failed registrations/authentications allowed per minute per client address and per presented identity. */
  AUTH_FAILURE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(20),
  /** A cluster not heard from for this long is `disconnected`. */
  HEARTBEAT_TIMEOUT_SECONDS: seconds(90),
  /**
   * A connected cluster without a successful job poll for this long (or with jobs waiting that
   * long) has JobChannelHealthy=False. Default: twice the longest poll hold (290 s) plus 60 s.
   */
  JOB_CHANNEL_STALE_SECONDS: seconds(640),
  /** Push mode: a validation request to a cluster's API server that takes longer is `Unreachable`. */
  PUSH_VALIDATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /** Push mode: a job's request to a cluster's API server that takes longer is retried later. */
  PUSH_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  /** Push mode: every push cluster's kubeconfig is validated again this often. */
  PUSH_VALIDATE_INTERVAL_SECONDS: seconds(300),
  /** Jobs of push and GitOps clusters one worker performs at once (one per cluster at a time). */
  EXECUTE_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Push mode: a worker's lease on the watches of a push cluster lasts this long unrenewed. */
  PUSH_WATCH_LEASE_SECONDS: z.coerce.number().int().min(3).max(300).default(30),
  /** Agent events older than this are pruned; audit entries are kept. */
  EVENT_RETENTION_DAYS: seconds(30),
  /**
   * How long a client may take to send a whole request, headers and body (then 408 and the
   * connection is closed). A long-poll's wait comes after its request has arrived and is not
   * counted.
   */
  REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(30),
  /** Proxies in front whose X-Forwarded-For entries count: false, a hop count, or their CIDR ranges. */
  TRUST_PROXY: TrustProxySetting,
  /**
   * Port of the internal listener (API and worker): Prometheus `GET /metrics` without
   * authentication, plus the API's queue dashboard behind an admin key. Unset: no listener. Never
   * the agents' port, so the agent-facing ingress cannot reach either.
   */
  METRICS_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).optional()),
  /**
   * Outbound webhooks may target loopback, private, link-local and unique-local addresses
   * (refused by default: SSRF). For tests and receivers on the same private network only.
   */
  WEBHOOKS_ALLOW_PRIVATE: z
    .preprocess((value) => (value === "" ? undefined : value), z.enum(["true", "false"]).default("false"))
    .transform((value) => value === "true"),
  /** Odoo bridge; off when ODOO_URL is unset. */
  ODOO_URL: optionalString.pipe(z.string().url().optional()),
  /** Odoo database name. */
  ODOO_DB: optionalString,
  /** Login of the Odoo user the bridge acts as. */
  ODOO_LOGIN: optionalString,
  /** That user's API key. */
  ODOO_API_KEY: optionalString,
  /** `json2` (Odoo 19+), `jsonrpc` (16–19), or `auto`: asked once per connection. */
  ODOO_PROTOCOL: z.enum(["auto", "jsonrpc", "json2"]).default("auto"),
  /** Odoo model of the Cluster Registry. */
  ODOO_CLUSTER_MODEL: z.string().min(1).default("vws.cluster"),
  /** Odoo model of Workspace Hub's applications (a record without instance_id is a Deploy app request). */
  ODOO_APPLICATION_MODEL: z.string().min(1).default("vws.application.instance"),
  /** Odoo model the catalog is pushed to, so that Odoo's Deploy app form can offer it. */
  ODOO_CATALOG_MODEL: z.string().min(1).default("vws.catalog.entry"),
  /** Chatter messages on the cluster's record for meaningful transitions (when the model has a chatter). */
  ODOO_CHATTER: z
    .preprocess((value) => (value === "" ? undefined : value), z.enum(["true", "false"]).default("true"))
    .transform((value) => value === "true"),
  /**
   * JSON object renaming the Odoo fields, e.g. {"state":"x_state"}; the application model's and
   * the catalog model's with a prefix: {"application.hostname":"x_host","catalog.code":"x_code"}.
   */
  ODOO_FIELD_MAP: optionalString,
  /** Char field of the Cluster Registry carrying the organization's slug; unset = all in the default organization. */
  ODOO_ORGANIZATION_FIELD: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, "must be an Odoo field name")
      .optional(),
  ),
  /** Interval of the pull of records changed in Odoo. */
  ODOO_SYNC_INTERVAL_SECONDS: seconds(30),
  /** How far before its cursor each pull reads again: Odoo dates a save by its transaction's start. */
  ODOO_PULL_OVERLAP_SECONDS: z.coerce.number().int().min(0).default(300),
  /** Interval of the full comparison with Odoo (also run at start and after an access error clears). */
  ODOO_RECONCILE_INTERVAL_SECONDS: seconds(600),
  /** After a webhook, the record is read again this much later (Odoo 17 posts before its commit). */
  ODOO_WEBHOOK_REREAD_SECONDS: seconds(5),
  /** Secret that Odoo's webhook URL must carry (?secret=…). */
  ODOO_WEBHOOK_SECRET: optionalString,
  /**
   * 32 bytes (64 hex characters or base64): the service's secret key. Every secret it stores is
   * sealed under it (AES-256-GCM): the clusters' payload-signing private keys, and the
   * credentials push and GitOps modes hold. Unset: signing keys are stored as plain PEM, and no
   * kubeconfig or Git credential is accepted.
   */
  SECRET_KEY: optionalString.pipe(signingSecret.optional()),
  /**
   * While SECRET_KEY is being changed: the former key(s), comma-separated. Values sealed under
   * them still open, and the worker reseals them under SECRET_KEY at start.
   */
  SECRET_KEY_PREVIOUS: optionalString
    .transform((value) => (value ? value.split(",").map((part) => part.trim()) : []))
    .pipe(z.array(signingSecret)),
  /**
   * The service's public URL as agents reach it (https://workspace.example.org). GitOps mode writes
   * it into each cluster's Cluster CR (spec.controlPlaneEndpoint); a gitops job fails without it.
   */
  PUBLIC_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
  ),
  /** Host-local folder for the worker's clones of GitOps repositories (not a shared volume). */
  GITOPS_WORK_DIR: z.string().min(1).default("/tmp/vwksp-gitops"),
  /** The former name of SECRET_KEY, still read when SECRET_KEY is unset. */
  SIGNING_KEY_SECRET: optionalString.pipe(signingSecret.optional()),
  /** The former name of SECRET_KEY_PREVIOUS, still read. */
  SIGNING_KEY_SECRET_PREVIOUS: optionalString
    .transform((value) => (value ? value.split(",").map((part) => part.trim()) : []))
    .pipe(z.array(signingSecret)),
});

/** The 32 bytes of a SECRET_KEY value (hex or base64), or undefined when it is not that. */
export function signingSecretBytes(value: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, "hex");
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, "base64");
  return bytes.length === 32 ? bytes : undefined;
}

/**
 * Settings that only make sense together: a previous signing secret needs the current one, the
 * metrics port is not the agents' port, and the Odoo bridge needs its credentials as soon as it is
 * switched on.
 */
export const ConfigSchemaChecked = ConfigSchema.superRefine((config, context) => {
  if (config.SECRET_KEY && config.SIGNING_KEY_SECRET && config.SECRET_KEY !== config.SIGNING_KEY_SECRET) {
    context.addIssue({
      code: "custom",
      path: ["SIGNING_KEY_SECRET"],
      message: "is the former name of SECRET_KEY: set only SECRET_KEY (or both to the same key)",
    });
  }
  const previous = [...config.SECRET_KEY_PREVIOUS, ...config.SIGNING_KEY_SECRET_PREVIOUS];
  if (previous.length > 0 && !config.SECRET_KEY && !config.SIGNING_KEY_SECRET) {
    context.addIssue({
      code: "custom",
      path: ["SECRET_KEY"],
      message: "required when SECRET_KEY_PREVIOUS is set (it names the key that replaces them)",
    });
  }
  if (config.METRICS_PORT !== undefined && config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    context.addIssue({
      code: "custom",
      path: ["METRICS_PORT"],
      message: "must differ from PORT (the agents' port never serves /metrics or the queue dashboard)",
    });
  }
  if (config.REDIS_SENTINELS && !config.REDIS_SENTINEL_NAME) {
    context.addIssue({
      code: "custom",
      path: ["REDIS_SENTINEL_NAME"],
      message: "required when REDIS_SENTINELS is set (the master's name, as in `sentinel monitor <name>`)",
    });
  }
  if (config.REDIS_SENTINELS && config.REDIS_CLUSTER_NODES) {
    context.addIssue({
      code: "custom",
      path: ["REDIS_CLUSTER_NODES"],
      message: "set either REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both",
    });
  }
  if (config.REDIS_CLUSTER_NODES && redisHashTag(config.REDIS_PREFIX) === undefined) {
    context.addIssue({
      code: "custom",
      path: ["REDIS_PREFIX"],
      message:
        "must carry a hash tag with REDIS_CLUSTER_NODES, e.g. {vwksp}, so that all the service's keys share one cluster slot",
    });
  }
  if (!config.ODOO_URL) return;
  for (const variable of ["ODOO_DB", "ODOO_LOGIN", "ODOO_API_KEY"] as const) {
    if (!config[variable])
      context.addIssue({ code: "custom", path: [variable], message: "required when ODOO_URL is set" });
  }
  if (config.ODOO_FIELD_MAP) {
    try {
      const parsed: unknown = JSON.parse(config.ODOO_FIELD_MAP);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
    } catch {
      context.addIssue({
        code: "custom",
        path: ["ODOO_FIELD_MAP"],
        message: 'must be a JSON object such as {"state":"x_state"}',
      });
      return;
    }
    try {
      parseFieldMap(config.ODOO_FIELD_MAP);
      parseApplicationFieldMap(config.ODOO_FIELD_MAP);
      parseCatalogFieldMap(config.ODOO_FIELD_MAP);
    } catch (error) {
      const message = error instanceof Error ? error.message.replace(/^ODOO_FIELD_MAP: /, "") : String(error);
      context.addIssue({ code: "custom", path: ["ODOO_FIELD_MAP"], message });
    }
  }
}).transform((config) => ({
  ...config,
  // The former names still work; from here on only SECRET_KEY and SECRET_KEY_PREVIOUS are read.
  SECRET_KEY: config.SECRET_KEY ?? config.SIGNING_KEY_SECRET,
  SECRET_KEY_PREVIOUS: [...new Set([...config.SECRET_KEY_PREVIOUS, ...config.SIGNING_KEY_SECRET_PREVIOUS])],
}));

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment; a bad value throws a ConfigError naming each offending variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = ConfigSchemaChecked.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const variable = issue.path.join(".");
    const shown = env[variable];
    // Never echo a secret back; echo other values so the mistake is obvious.
    const echo = shown === undefined || /KEY|SECRET|PASSWORD/.test(variable) ? "" : ` (got "${shown}")`;
    return `  ${variable}: ${issue.message}${echo}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
}

/** EX_CONFIG from sysexits.h: the exit code of a process stopped by its configuration. */
export const EXIT_BAD_CONFIG = 78;

/** For process entry points: the config, or a message naming the bad variables and exit 78. */
export function loadConfigOrExit(processName: string): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${processName}: ${error.message}`);
    process.exit(EXIT_BAD_CONFIG);
  }
}
