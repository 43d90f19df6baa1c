// Generates the Prisma client after install. The 7.x CLI probes for a native schema engine at
// start even though `generate` does not use it; on machines that cannot download it we point the
// probe at a stand-in that fails every command (a stand-in that succeeds would let
// `prisma migrate` claim success while applying nothing).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(new URL("./no-schema-engine.sh", import.meta.url));
}
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const prismaBin = `${root}node_modules/.bin/prisma`;
if (!existsSync(prismaBin)) {
  console.log("prisma-generate: prisma CLI not installed yet, skipping");
  process.exit(0);
}
const run = spawnSync(prismaBin, ["generate"], { cwd: root, env, stdio: "inherit" });
process.exit(run.status ?? 1);
