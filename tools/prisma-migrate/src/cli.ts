// `pnpm db:migrate` | `pnpm db:check` | `pnpm db:new <name>` (see package.json scripts), and
// `wait`: until the database has every migration of this checkout (a Kubernetes init container
// holds the API and the worker back until the release's migration Job is done).
// Exit codes: 0 done / in sync, 1 error (or `wait` timed out), 2 drift (check only), 64 usage.
import { relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  checkDrift,
  createMigration,
  DEFAULT_DATABASE_URL,
  MigrateError,
  migrateDeploy,
  pendingMigrations,
} from "./index.ts";
import type { Paths } from "./migrations.ts";

const USAGE =
  "usage: cli.ts migrate | check | new <name> | wait [--timeout <seconds>]  [--schema <file>] [--migrations <dir>]";
const WAIT_EVERY_MS = 2_000;

async function main(argv: string[]): Promise<number> {
  // --schema / --migrations default to the repository's prisma/ folder (handy for scratch copies).
  let parsed: {
    positionals: string[];
    values: { schema?: string; migrations?: string; timeout?: string };
  };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { schema: { type: "string" }, migrations: { type: "string" }, timeout: { type: "string" } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  const { positionals, values } = parsed;
  // pnpm runs package scripts in the package folder; resolve paths from where the user typed them.
  const from = (p?: string) =>
    p === undefined ? undefined : resolve(process.env.INIT_CWD ?? process.cwd(), p);
  const paths = { schemaPath: from(values.schema), migrationsDir: from(values.migrations) };
  const [command, ...rest] = positionals;
  switch (command) {
    case "migrate": {
      const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
      const started = performance.now();
      const { applied } = await migrateDeploy(url, paths);
      const ms = Math.round(performance.now() - started);
      if (applied.length === 0) console.log(`No pending migrations (${ms} ms).`);
      else
        console.log(
          `Applied ${applied.length} migration(s) in ${ms} ms:\n${applied.map((n) => `  ${n}`).join("\n")}`,
        );
      return 0;
    }
    case "check": {
      const { inSync, script } = await checkDrift(paths);
      if (inSync) {
        console.log("Migrations are in sync with prisma/schema.prisma.");
        return 0;
      }
      console.log("Drift: prisma/schema.prisma differs from prisma/migrations. Run `pnpm db:new <name>`.");
      console.log("SQL needed to bring the migrations up to the schema:\n");
      console.log(script.trimEnd());
      return 2;
    }
    case "new": {
      const name = rest.join(" ").trim();
      if (!name) {
        console.error(`A migration name is required. ${USAGE}`);
        return 64;
      }
      const file = await createMigration(name, paths);
      if (file === null) console.log("Nothing to do: the migrations already match prisma/schema.prisma.");
      else console.log(`Created ${relative(process.env.INIT_CWD ?? process.cwd(), file)}`);
      return 0;
    }
    case "wait":
      return waitForMigrations(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL, paths, values.timeout);
    default:
      console.error(USAGE);
      return 64;
  }
}

/** Polls until no migration is pending; an unreachable database counts as "not yet". */
async function waitForMigrations(url: string, paths: Paths, timeout = "600"): Promise<number> {
  const seconds = Number(timeout);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`--timeout must be a positive number of seconds. ${USAGE}`);
    return 64;
  }
  const deadline = Date.now() + seconds * 1000;
  let said = "";
  for (;;) {
    const status = await pendingMigrations(url, paths).then(
      (pending) => (pending.length === 0 ? "" : `pending: ${pending.join(", ")}`),
      (error: unknown) => `database not reachable: ${(error as Error).message}`,
    );
    if (status === "") {
      console.log("Every migration is applied.");
      return 0;
    }
    if (status !== said) console.log(`Waiting for migrations (${status}).`);
    said = status;
    if (Date.now() >= deadline) {
      console.error(`Gave up after ${seconds} s: ${status}.`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_EVERY_MS));
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof MigrateError) {
      // Expected failures: one paragraph, no stack trace (schema errors keep their code frames).
      const text = error.message.includes("-->") ? error.message : error.message.replace(/\s*\n\s*/g, " ");
      console.error(`Error: ${text.trim()}`);
    } else {
      console.error(error);
    }
    process.exit(1);
  },
);
