import { randomBytes } from "node:crypto";
import pg from "pg";

// The machine's PostgreSQL (trust auth); TEST_PG_URL points elsewhere, as for the other packages.
const serverUrl = new URL(process.env.TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres");

const urlOf = (database: string) => {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
};

async function asAdmin(sql: string) {
  const client = new pg.Client({ connectionString: urlOf("postgres") });
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
    url: urlOf(name),
    drop: () => asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
