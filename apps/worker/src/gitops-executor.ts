import { join } from "node:path";
import {
  type Config,
  createGitOpsExecutor,
  credentialSealerFor,
  type JobExecutor,
  type Logger,
} from "@vwksp/core";
import { createGitOpsEngine, createPgAdvisoryLock, type GitOpsEngine } from "@vwksp/gitops";
import pg from "pg";
import type { ExecutorServices } from "./deps.ts";

export interface WorkerGitOps {
  executor: JobExecutor;
  close(): Promise<void>;
}

/**
 * GitOps mode's executor for this worker process, or undefined without SECRET_KEY (no Git
 * credential can have been stored then). The engine starts on the first job. Pushes to one
 * branch are serialized across workers by a PostgreSQL advisory lock held on a pool of its own:
 * the lock is held for a whole fetch-commit-push, longer than the service pools let a
 * connection idle.
 */
export function createWorkerGitOps(
  config: Config,
  logger: Logger,
  services: ExecutorServices,
): WorkerGitOps | undefined {
  const sealer = credentialSealerFor(config);
  if (!sealer) return undefined;
  let lockPool: pg.Pool | undefined;
  let engine: Promise<GitOpsEngine> | undefined;
  const start = () => {
    engine ??= (async () => {
      lockPool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 4 });
      lockPool.on("error", (error) => logger.warn({ err: error }, "gitops lock connection lost"));
      return createGitOpsEngine({
        workRoot: join(config.GITOPS_WORK_DIR, "worker"),
        lock: createPgAdvisoryLock(lockPool),
        logger: logger.child({ component: "gitops" }),
      });
    })();
    return engine;
  };
  const executor = createGitOpsExecutor({
    db: services.db,
    clock: services.clock,
    audit: services.audit,
    onClusterChanged: (clusterId) => services.notifier.clusterChanged(clusterId),
    sealer,
    engine: { applyChange: async (request) => (await start()).applyChange(request) },
    publicUrl: config.PUBLIC_URL,
    logger,
  });
  return {
    executor,
    async close() {
      if (engine) await (await engine).close();
      await lockPool?.end();
    },
  };
}
