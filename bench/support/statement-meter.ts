import { performance } from "node:perf_hooks";
import type { Db } from "../../packages/core/src/index.ts";

export interface StatementRecord {
  /** performance.now() when the statement was started and how long it took (ms, pool wait included). */
  at: number;
  ms: number;
  /** Rows the statement returned. */
  rows: number;
}

/**
 * The product's Prisma client, seen through a Proxy that times the raw statements (`$queryRaw`)
 * whose SQL contains `marker` — e.g. the heartbeat coalescer's `UPDATE "Cluster"` — and passes
 * everything else through untouched. Given to `createApiDeps` through its existing `db`
 * override, it counts the coalesced writes where they are made instead of inferring them from
 * PostgreSQL's counters. Its cost is one Proxy trap per property read of the client.
 */
export function meterRawStatements(db: Db, marker: string) {
  const records: StatementRecord[] = [];
  const metered = new Proxy(db, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (property !== "$queryRaw") return value.bind(target);
      return (query: unknown, ...values: unknown[]) => {
        const text = Array.isArray(query) ? query.join("?") : String((query as { sql?: string }).sql ?? "");
        const statement = value.call(target, query, ...values) as PromiseLike<unknown>;
        if (!text.includes(marker)) return statement;
        const at = performance.now();
        // A PrismaPromise runs when it is awaited: the timer starts with it.
        return Promise.resolve(statement).then((rows) => {
          records.push({ at, ms: performance.now() - at, rows: Array.isArray(rows) ? rows.length : 0 });
          return rows;
        });
      };
    },
  });
  return {
    db: metered,
    /** Statements started in [from, to) (performance.now() times). */
    between: (from: number, to: number) => records.filter((record) => record.at >= from && record.at < to),
    all: () => records,
  };
}
