// `pnpm db:migrate` | `pnpm db:check` | `pnpm db:new <name>` (see package.json scripts).
// Exit codes: 0 done / in sync, 1 error, 2 drift (check only), 64 usage.
import { relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkDrift, createMigration, DEFAULT_DATABASE_URL, MigrateError, migrateDeploy } from "./index.ts";

const USAGE = "usage: cli.ts migrate | check | new <name>  [--schema <file>] [--migrations <dir>]";

async function main(argv: string[]): Promise<number> {
  // --schema / --migrations default to the repository's prisma/ folder (handy for scratch copies).
  let parsed: { positionals: string[]; values: { schema?: string; migrations?: string } };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { schema: { type: "string" }, migrations: { type: "string" } },
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
    default:
      console.error(USAGE);
      return 64;
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
