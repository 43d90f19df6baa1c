// `pnpm admin:key list|create|revoke|rotate …` — admin API keys from the command line, with the
// database's own access (no key needed). Secrets are printed once; only their SHA-256 is stored.
import { parseArgs } from "node:util";
import {
  apiKeyStatus,
  COMMAND_LINE_MANAGER,
  ConfigError,
  closeDb,
  createApiKeyLifecycle,
  createApiKeysService,
  createAuditService,
  createDb,
  type Db,
  DEFAULT_ORGANIZATION_SLUG,
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  DomainError,
  ensureDefaultOrganization,
  loadConfig,
  parseScopes,
  postgresUnreachable,
  probePostgres,
  systemClock,
  VALID_SCOPES_TEXT,
} from "@vwksp/core";
import { createRedis, redisTarget } from "@vwksp/queue";

const USAGE = `usage: pnpm admin:key <command> [options]

commands:
  list                                       the organization's keys (never their secrets)
  create --name NAME --scopes SCOPES [--expires-at TIME]
                                             a new key, printed once
  revoke ID                                  the key stops working at once, on every API process
  rotate ID [--overlap SECONDS] [--expires-at TIME]
                                             a new key with the same name and scopes, printed once;
                                             the old one keeps working for --overlap seconds
                                             (default ${DEFAULT_ROTATION_OVERLAP_SECONDS}; 0 = revoked at once)

options:
  --organization SLUG   the organization of the keys (default: ${DEFAULT_ORGANIZATION_SLUG})
  --scopes SCOPES       comma-separated: ${VALID_SCOPES_TEXT}
                        (platform:admin, and * which includes it, act beyond the key's
                        organization: give them to the platform's operators only)
  --expires-at TIME     RFC 3339, e.g. 2027-06-30T00:00:00Z (default: no expiry)
  -h, --help            this text

environment: DATABASE_URL (PostgreSQL), REDIS_URL and REDIS_PREFIX (to tell running API
processes about a revoked key at once).`;

class UsageError extends Error {}

const OPTIONS = {
  name: { type: "string" },
  scopes: { type: "string" },
  "expires-at": { type: "string" },
  overlap: { type: "string" },
  organization: { type: "string", default: DEFAULT_ORGANIZATION_SLUG },
  help: { type: "boolean", short: "h", default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

async function main(argv: string[]): Promise<number> {
  let parsed: { positionals: string[]; values: Values };
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { positionals, values } = parsed;
  const [command, id, ...extra] = positionals;
  if (values.help || command === "help") {
    console.log(USAGE);
    return 0;
  }
  if (!command) throw new UsageError("a command is required");
  if (!["list", "create", "revoke", "rotate"].includes(command))
    throw new UsageError(`unknown command "${command}"`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if ((command === "revoke" || command === "rotate") && !id)
    throw new UsageError(`${command} needs the key's ID`);
  if (id && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id))
    throw new UsageError(`"${id}" is not a key ID (a UUID, as \`list\` shows it)`);
  if (command === "create") {
    if (!values.name || !values.scopes) throw new UsageError("create needs --name and --scopes");
    const { unknown } = parseScopes(values.scopes.split(","));
    if (unknown.length > 0) {
      throw new UsageError(`unknown scope(s): ${unknown.join(", ")}; valid scopes: ${VALID_SCOPES_TEXT}`);
    }
  }

  const config = loadConfig();
  const unreachable = await probePostgres(config.DATABASE_URL);
  if (unreachable) {
    console.error(`admin:key: ${postgresUnreachable(config.DATABASE_URL, unreachable)}`);
    return 1;
  }
  const db = createDb(config.DATABASE_URL, { poolSize: 2 });
  try {
    const organization = await organizationOf(db, values.organization);
    const keys = createApiKeysService({ db, clock: systemClock });
    const announced: string[] = [];
    const lifecycle = createApiKeyLifecycle({
      db,
      clock: systemClock,
      audit: createAuditService({ db, clock: systemClock }),
      keys,
      keyChanged: async (keyId) => {
        announced.push(keyId);
      },
    });
    switch (command) {
      case "list":
        printList(await lifecycle.list(organization.id));
        return 0;
      case "create": {
        const { key, record } = await lifecycle.create(COMMAND_LINE_MANAGER, {
          organizationId: organization.id,
          name: values.name ?? "",
          scopes: (values.scopes ?? "").split(","),
          expiresAt: time(values["expires-at"]),
        });
        console.log(
          `created API key ${record.id} "${record.name}" in ${organization.slug} with scopes ${record.scopes.join(",")}`,
        );
        printSecret(key);
        return 0;
      }
      case "revoke": {
        const revoked = await lifecycle.revoke(COMMAND_LINE_MANAGER, organization.id, id ?? "");
        console.log(`revoked API key ${revoked.id} "${revoked.name}"`);
        await announce(config, announced);
        return 0;
      }
      default: {
        const rotated = await lifecycle.rotate(COMMAND_LINE_MANAGER, organization.id, id ?? "", {
          overlapSeconds: overlap(values.overlap),
          expiresAt: time(values["expires-at"]),
        });
        console.log(
          `rotated API key ${id} to ${rotated.record.id} "${rotated.record.name}"; the old key stops working at ${rotated.previous.endsAt.toISOString()}`,
        );
        printSecret(rotated.key);
        await announce(config, announced);
        return 0;
      }
    }
  } finally {
    await closeDb(db);
  }
}

async function organizationOf(db: Db, slug: string) {
  const organization =
    slug === DEFAULT_ORGANIZATION_SLUG
      ? await ensureDefaultOrganization(db)
      : await db.organization.findUnique({ where: { slug } });
  if (!organization) throw new UsageError(`no organization with slug "${slug}"`);
  return organization;
}

function time(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(parsed.getTime())) {
    throw new UsageError(
      `--expires-at must be an RFC 3339 time such as 2027-06-30T00:00:00Z, got "${value}"`,
    );
  }
  return parsed;
}

function overlap(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 86_400) {
    throw new UsageError(`--overlap must be a number of seconds from 0 to 86400, got "${value}"`);
  }
  return Number(value);
}

function printSecret(key: string) {
  console.log("store it now, it is not shown again:");
  console.log(key);
}

function printList(rows: Awaited<ReturnType<ReturnType<typeof createApiKeyLifecycle>["list"]>>) {
  if (rows.length === 0) {
    console.log("no API keys");
    return;
  }
  const now = new Date();
  const day = (date: Date | null) => (date ? date.toISOString().slice(0, 16).replace("T", " ") : "-");
  const table = [
    ["ID", "NAME", "SCOPES", "STATUS", "CREATED", "LAST USED", "EXPIRES"],
    ...rows.map((row) => [
      row.id,
      row.name,
      row.scopes.join(","),
      apiKeyStatus(row, now) + (row.replacedById && !row.revokedAt ? " (rotated)" : ""),
      day(row.createdAt),
      day(row.lastUsedAt),
      day(row.expiresAt),
    ]),
  ];
  const widths =
    table[0]?.map((_, column) => Math.max(...table.map((line) => line[column]?.length ?? 0))) ?? [];
  for (const line of table)
    console.log(
      line
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    );
}

/** Tells running API processes to drop the keys from their caches (they would within 5 s anyway). */
async function announce(config: ReturnType<typeof loadConfig>, keyIds: string[]) {
  if (keyIds.length === 0) return;
  const redis = createRedis(redisTarget(config), "commands", {
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  try {
    for (const keyId of keyIds) await redis.publish(`${config.REDIS_PREFIX}:api-key-invalidate`, keyId);
  } catch {
    console.log("(Redis is unreachable: running API processes stop accepting the old key within 5 s)");
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`admin:key: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    const known = error instanceof ConfigError || error instanceof DomainError;
    console.error(`admin:key: ${known || error instanceof Error ? (error as Error).message : String(error)}`);
    process.exit(1);
  },
);
