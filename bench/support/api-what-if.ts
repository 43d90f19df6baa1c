// A what-if API process for bench/dispatch `--api-pool=N`: the product's own buildApp and
// createApiDeps, exactly as apps/api/src/server.ts wires them, except that the Prisma pool has
// `--pool=N` connections (through createApiDeps' existing `db` override) instead of the
// built-in 10. Used only to test whether the pool size limits throughput; not the product.
import { buildApp } from "../../apps/api/src/app.ts";
import { createApiDeps } from "../../apps/api/src/deps.ts";
import { createDb, loadConfig } from "../../packages/core/src/index.ts";

const config = loadConfig();
const poolSize = Number(process.argv.find((arg) => arg.startsWith("--pool="))?.slice(7) ?? "10");
const deps = createApiDeps(config, { db: createDb(config.DATABASE_URL, { poolSize }) });
const app = await buildApp(deps);
app.addHook("onClose", async () => deps.close());
if (config.BOOTSTRAP_ADMIN_KEY) await deps.apiKeys.ensureBootstrapKey(config.BOOTSTRAP_ADMIN_KEY);
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
await app.listen({ port: config.PORT, host: config.HOST });
