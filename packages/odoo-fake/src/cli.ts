// Runs the fake Odoo as a process of its own (end-to-end tests, `pnpm demo`):
//   tsx packages/odoo-fake/src/cli.ts [--version 17] [--port 0]
// Prints one line `fake-odoo <url> db=<db> login=admin` once it listens (the API key is the
// fake's well-known test key, DEFAULT_FAKE_API_KEY); stops on SIGTERM/SIGINT.
import { parseArgs } from "node:util";
import type { OdooMajor } from "./dialect.ts";
import { startFakeOdoo } from "./fake-odoo.ts";

const { values } = parseArgs({
  options: { version: { type: "string", default: "17" }, port: { type: "string", default: "0" } },
});
const version = Number(values.version);
if (![16, 17, 18, 19].includes(version)) {
  console.error("fake-odoo: --version must be 16, 17, 18 or 19");
  process.exit(2);
}
const fake = await startFakeOdoo({
  version: version as OdooMajor,
  ...(values.port !== "0" ? { port: Number(values.port) } : {}),
});
console.log(`fake-odoo ${fake.url} db=${fake.db} login=admin`);
const stop = () => void fake.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
