import {
  createInitialAdminKey,
  displayUrl,
  type Logger,
  postgresUnreachable,
  probePostgres,
  redisUnreachable,
} from "@vwksp/core";
import { describeRedisTarget, probeRedis, redisTarget } from "@vwksp/queue";
import type { ApiDeps } from "./deps.ts";

const RETRY_MS = 2_000;
/** While a dependency stays away, it is said again this often (not on every retry). */
const REPEAT_MS = 60_000;

type Log = Pick<Logger, "info" | "warn" | "error">;

/**
 * Says at start whether PostgreSQL and Redis can be reached (rather than only when /readyz is
 * asked), and again when one that was away comes back. Resolves once both answered.
 */
export async function reportDependencies(deps: Pick<ApiDeps, "config">, log: Log, stop: AbortSignal) {
  await Promise.all([
    untilReachable(
      "PostgreSQL",
      displayUrl(deps.config.DATABASE_URL),
      () => probePostgres(deps.config.DATABASE_URL),
      (reason) => postgresUnreachable(deps.config.DATABASE_URL, reason),
      log,
      stop,
    ),
    untilReachable(
      "Redis",
      describeRedisTarget(redisTarget(deps.config)),
      () => probeRedis(redisTarget(deps.config)),
      (reason) => redisUnreachable(describeRedisTarget(redisTarget(deps.config)), reason),
      log,
      stop,
    ),
  ]);
}

async function untilReachable(
  name: string,
  /** Where it is looked for, without any password (logged). */
  where: string,
  probe: () => Promise<string | null>,
  describe: (reason: string) => string,
  log: Log,
  stop: AbortSignal,
) {
  let away = false;
  let lastSaid = 0;
  while (!stop.aborted) {
    const reason = await probe();
    if (reason === null) {
      if (away) log.info({ dependency: name, url: where }, `${name} is reachable again`);
      return;
    }
    if (Date.now() - lastSaid >= REPEAT_MS) {
      lastSaid = Date.now();
      log.error(
        { dependency: name, url: where, reason },
        `${describe(reason)} Requests that need it answer 503 until it is back.`,
      );
    }
    away = true;
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

/**
 * The admin key a deployment starts with: BOOTSTRAP_ADMIN_KEY when given; otherwise, on the very
 * first start (no API key in the database yet), a generated all-scope key, printed once to
 * standard output — never through the logger, which would redact it, and never again.
 */
export async function ensureAdminKey(
  deps: Pick<ApiDeps, "config" | "db" | "apiKeys">,
  log: Log,
  print: (text: string) => void,
) {
  const bootstrap = deps.config.BOOTSTRAP_ADMIN_KEY;
  if (bootstrap) {
    const key = await deps.apiKeys.ensureBootstrapKey(bootstrap);
    if (key.revokedAt)
      log.warn("BOOTSTRAP_ADMIN_KEY was revoked and stays revoked; remove it from the environment");
    else log.info("bootstrap admin key ensured");
    return;
  }
  const generated = await createInitialAdminKey(deps.db, deps.apiKeys);
  if (!generated) return;
  print(
    [
      "",
      "================================================================================",
      " Initial admin API key (all scopes), shown this once; only its hash is stored:",
      "",
      `   ${generated}`,
      "",
      " Use it as `Authorization: Bearer <key>` on /api/v1. Create narrower keys with",
      " POST /api/v1/api-keys, then revoke this one (DELETE /api/v1/api-keys/{id}).",
      "================================================================================",
      "",
    ].join("\n"),
  );
  log.info("generated the initial admin API key (printed above, once)");
}
