import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// One config for the whole workspace: `pnpm test` runs every package's tests; a package's own
// `test` script runs this config filtered to its folder. Each test file gets its own PostgreSQL
// database (a clone of the migrated template made in global setup) and its own Redis key prefix.
export default defineConfig({
  test: {
    include: ["{apps,packages,tools}/*/test/**/*.test.ts"],
    globalSetup: [here("./test/global-setup.ts")],
    reporters: ["default", here("./test/summary-reporter.ts")],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
