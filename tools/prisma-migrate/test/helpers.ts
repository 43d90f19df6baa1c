// Test helpers: each test gets its own database (unique name, dropped afterwards) and, when it
// needs to change files, its own temporary copy of prisma/schema.prisma and prisma/migrations.
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

// Same variable as the workspace tests: any database on the server to use.
const base = process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export const repoPrisma = fileURLToPath(new URL("../../../prisma/", import.meta.url));
export const serverUrl = urlFor("postgres");

export function urlFor(database: string): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export function uniqueName(label: string): string {
  return `prisma_tool_${label}_${randomBytes(5).toString("hex")}`;
}

export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  database: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  await sql("postgres", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export interface TempPrisma {
  schemaPath: string;
  migrationsDir: string;
  cleanup: () => Promise<void>;
}

/** A scratch copy of the repository's schema and migrations. */
export async function tempPrisma(): Promise<TempPrisma> {
  const dir = await mkdtemp(join(tmpdir(), "prisma-tool-"));
  await cp(join(repoPrisma, "schema.prisma"), join(dir, "schema.prisma"));
  await cp(join(repoPrisma, "migrations"), join(dir, "migrations"), { recursive: true });
  return {
    schemaPath: join(dir, "schema.prisma"),
    migrationsDir: join(dir, "migrations"),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
