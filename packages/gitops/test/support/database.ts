import { randomBytes } from "node:crypto";
import pg from "pg";
// The machine's PostgreSQL (TEST_PG_URL elsewhere), as for the other packages' tests.
import { adminUrl, databaseUrl } from "../../../../test/support/pg-urls.ts";

async function asAdmin(sql: string) {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** An empty database of this test file's own (advisory locks need no tables); drop() removes it. */
export async function createScratchDatabase() {
  const name = `vwksp_gitops_test_${randomBytes(6).toString("hex")}`;
  await asAdmin(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
