// `pnpm openapi` writes openapi/openapi.json from the routes' zod schemas;
// `pnpm openapi:check` fails when the committed document differs (CI runs it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadConfig } from "@vwksp/core";
import { buildApp } from "../src/app.ts";
import { createApiDeps } from "../src/deps.ts";

const target = fileURLToPath(new URL("../../../openapi/openapi.json", import.meta.url));

async function render(): Promise<string> {
  // Nothing connects: Prisma and ioredis connect lazily, and the document needs no query.
  const deps = createApiDeps(loadConfig({ LOG_LEVEL: "silent" }));
  const app = await buildApp(deps);
  await app.ready();
  const document = app.swagger();
  await app.close();
  await deps.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}

const mode = process.argv[2];
const rendered = await render();
if (mode === "check") {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== rendered) {
    console.error("openapi/openapi.json is out of date: run `pnpm openapi` and commit the result");
    process.exit(1);
  }
  console.log("openapi/openapi.json is up to date");
} else {
  writeFileSync(target, rendered);
  console.log(`wrote ${target}`);
}
