import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { adminUrl, databaseUrl } from "./pg-urls.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Name of the migrated template database made by test/global-setup.ts. */
    templateDatabase: string;
    /** pid of the test run's main process, part of every test database's name. */
    testRunPid: number;
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  client.on("error", () => {}); // a lost connection fails the query in flight instead of the run
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, migrated database of this test file's own (a clone of the template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject("templateDatabase");
  const name = `vwksp_t_${inject("testRunPid")}_${randomBytes(6).toString("hex")}`;
  await withAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}
