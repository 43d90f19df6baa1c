import { ConfigError, closeDb, createDb, type Db, loadConfig } from "@vwksp/core";

/**
 * Runs an admin script against DATABASE_URL and exits with its code: 0 done, 1 failed, 2 bad
 * usage. A bad configuration or any error is one line on stderr, named after the script.
 */
export function runScript(name: string, main: (db: () => Db) => Promise<number>) {
  let db: Db | undefined;
  const connect = () => {
    db ??= createDb(loadConfig().DATABASE_URL);
    return db;
  };
  main(connect)
    .finally(() => (db ? closeDb(db) : undefined))
    .then(
      (code) => process.exit(code),
      (error: unknown) => {
        const message =
          error instanceof ConfigError
            ? error.message
            : error instanceof Error
              ? error.message
              : String(error);
        console.error(`${name}: ${message}`);
        process.exit(1);
      },
    );
}
