import type { Socket } from "node:net";
import pg from "pg";

/** Hears of connections the server or the network ended (a restart, a failover, a reaper). */
export type ConnectionLost = (error: Error) => void;

export interface PoolOptions {
  max: number;
  /** Server-side limit of one statement; row-lock waits get half of it, at most 5 s. */
  statementTimeoutMs: number;
  /** Settings every session of the pool starts with, before its first statement. */
  session?: string[];
  onConnectionLost: ConnectionLost;
}

/**
 * How much longer than its statement timeout a checked-out connection may go without a byte from
 * the server. The server cancels a slow statement itself and says so (57014); a connection that
 * stays silent past that is partitioned away or half-open, and only cutting it frees the request.
 */
const SILENCE_GRACE_MS = 2_000;

const socketOf = (client: pg.PoolClient) =>
  (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;

/**
 * A pg pool whose connections can fail without taking the process down and whose requests
 * cannot hang: a dead server fails the connect in 5 s, a slow statement is cancelled by the
 * server, and a checked-out connection that hears nothing is cut.
 */
export function newPool(databaseUrl: string, options: PoolOptions): pg.Pool {
  const statement = options.statementTimeoutMs;
  // A SET rather than startup options, which connection poolers such as PgBouncer refuse.
  const session = [
    ...(options.session ?? []),
    `SET statement_timeout = ${statement}`,
    `SET lock_timeout = ${Math.min(5_000, Math.floor(statement / 2))}`,
  ].join("; ");
  const silenceLimitMs = statement + SILENCE_GRACE_MS;

  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max,
    // Also bounds the wait for a free connection when the pool is exhausted.
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Runs on every new connection before anyone gets it; a failure ends the connection and
    // fails the checkout that opened it.
    onConnect: async (client) => {
      // A checked-out client has no listener of pg-pool's (it removes its own on checkout), and
      // a client without one crashes the process when its server goes away ("Connection
      // terminated unexpectedly", "terminating connection due to administrator command"). Every
      // client gets one for its whole life; the statement in flight fails on its own, and
      // pg-pool discards a client that is no longer queryable when it comes back.
      client.on("error", options.onConnectionLost);
      const socket = socketOf(client as pg.PoolClient);
      socket?.on("timeout", () =>
        socket.destroy(new Error(`Connection terminated: PostgreSQL sent nothing for ${silenceLimitMs} ms`)),
      );
      socket?.setTimeout(silenceLimitMs);
      await client.query(session);
    },
  });
  // An idle client that loses its server: pg-pool drops it and reports it here.
  pool.on("error", options.onConnectionLost);
  pool.on("acquire", (client) => socketOf(client)?.setTimeout(silenceLimitMs));
  pool.on("release", (_error, client) => socketOf(client)?.setTimeout(0));
  return pool;
}
