import type pg from "pg";
import { GitOpsError } from "../errors.ts";
import type { RepoLock } from "./repo-lock.ts";

export interface PgAdvisoryLockOptions {
  /** How long to wait for another worker's push to finish before giving up (LockTimeout). */
  timeoutMs?: number;
}

const LOCK_NOT_AVAILABLE = "55P03";

/**
 * A PostgreSQL session-level advisory lock per key (hashtextextended of the key: a collision
 * only serializes two unrelated branches). The lock is held on one pooled connection for the
 * whole operation; if the process dies, PostgreSQL ends the session and the lock goes with it.
 * When unlocking fails, the connection is destroyed rather than returned holding the lock.
 */
export function createPgAdvisoryLock(pool: pg.Pool, options: PgAdvisoryLockOptions = {}): RepoLock {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return {
    async withLock(key, work) {
      const client = await pool.connect();
      // A checked-out client has no listener of the pool's: a session that dies while the lock
      // is held (failover, restart) must not become an uncaught 'error' that kills the worker.
      // The lock went with the session; the push is a compare-and-swap, so the work stays safe.
      let sessionLost = false;
      const onSessionError = () => {
        sessionLost = true;
      };
      client.on("error", onSessionError);
      try {
        await client.query("SELECT set_config('lock_timeout', $1, false)", [`${timeoutMs}ms`]);
        await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [key]);
      } catch (error) {
        client.removeListener("error", onSessionError);
        client.release(true);
        if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) {
          throw new GitOpsError(
            "LockTimeout",
            `another worker held the lock on ${key} for over ${timeoutMs} ms`,
          );
        }
        throw error;
      }
      try {
        return await work();
      } finally {
        const unlocked =
          !sessionLost &&
          (await client
            .query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [key])
            .then(() => client.query("RESET lock_timeout"))
            .then(
              () => true,
              () => false,
            ));
        client.removeListener("error", onSessionError);
        client.release(!unlocked);
      }
    },
  };
}
