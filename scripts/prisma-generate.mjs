// Generates the Prisma client (after install, and as @vwksp/core's build). The 7.x CLI probes for a
// native schema engine at start even though `generate` does not use it; on machines that cannot
// download it we point the probe at a stand-in that fails every command (a stand-in that succeeds
// would let `prisma migrate` claim success while applying nothing).
//
// `prisma generate` empties its output folder before writing it again, so a typecheck reading the
// client at the same moment fails. The client is therefore generated only when the schema or the
// Prisma version changed since the last run, recorded in a stamp file beside the output.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const prismaBin = `${root}node_modules/.bin/prisma`;
if (!existsSync(prismaBin)) {
  console.log("prisma-generate: prisma CLI not installed yet, skipping");
  process.exit(0);
}

const output = `${root}packages/core/src/generated/prisma`;
const stampFile = `${output}/.generated-from`;
const stamp = createHash("sha256")
  .update(readFileSync(`${root}prisma/schema.prisma`))
  .update(readFileSync(`${root}node_modules/prisma/package.json`))
  .update(readFileSync(`${root}prisma.config.ts`))
  .digest("hex");
if (existsSync(`${output}/client.ts`) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) {
  console.log("prisma-generate: client is up to date");
  process.exit(0);
}

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(new URL("./no-schema-engine.sh", import.meta.url));
}
const run = spawnSync(prismaBin, ["generate"], { cwd: root, env, stdio: "inherit" });
if (run.status === 0) writeFileSync(stampFile, stamp);
process.exit(run.status ?? 1);
