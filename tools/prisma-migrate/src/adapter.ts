// The driver adapter factory handed to the WASM schema engine: @prisma/adapter-pg 7.10.1 with the
// fixes it needs to drive migrations (fix 1, catalog column types, is in catalog-types.ts).
import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { CatalogTextClient } from "./catalog-types.ts";
import { clientConfig, dropDatabase, quoteIdent, schemaParam, withMaintenanceClient } from "./connection.ts";

export class OfflinePgAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres";
  readonly adapterName = "@prisma/adapter-pg";
  /** Adapters not disposed yet: the engine does not always dispose what it opened. */
  private readonly open = new Set<SqlDriverAdapter>();
  /**
   * The last database error seen on the JS side. The engine's own message for it is terse
   * ("No such table: Nope"); PostgreSQL's message and SQLSTATE make a better report.
   */
  lastDatabaseError: { code?: string; message: string } | undefined;

  constructor(private readonly url: string) {}

  async connect(): Promise<SqlDriverAdapter> {
    return this.track(await this.adapter(clientConfig(this.url)));
  }

  // Fix 2 of 3: the shadow database. The stock factory spreads `{ ...config, database }`, but pg
  // lets a connectionString win over `database`, so its "shadow" is the main database; it also
  // drops the shadow while its own pool is still connected (which fails) and leaks a pool.
  // We create the shadow from the maintenance database, connect with separate fields, and on
  // dispose close the pool first, then `DROP DATABASE … WITH (FORCE)`.
  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = `prisma_shadow_${randomUUID().replaceAll("-", "")}`;
    await withMaintenanceClient(this.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`)).catch(
      (error: unknown) => {
        this.remember(error);
        throw error;
      },
    );
    const adapter = await this.adapter(clientConfig(this.url, name));
    const disposePool = adapter.dispose.bind(adapter);
    let dropped = false;
    adapter.dispose = async () => {
      if (dropped) return;
      dropped = true;
      this.open.delete(adapter);
      await disposePool();
      await dropDatabase(this.url, name);
    };
    return this.track(adapter);
  }

  /** Disposes whatever the engine left open (pools, shadow databases). */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const adapter of [...this.open]) {
      await adapter.dispose().catch((e: unknown) => errors.push(e));
    }
    this.open.clear();
    if (errors.length) throw errors[0];
  }

  private remember(error: unknown): void {
    // DriverAdapterError keeps PostgreSQL's code and message in `cause`; other errors are pg's own.
    const cause = (error as { cause?: { originalCode?: string; originalMessage?: string } }).cause;
    const message = cause?.originalMessage ?? (error as Error).message;
    if (message)
      this.lastDatabaseError = { code: cause?.originalCode ?? (error as { code?: string }).code, message };
  }

  private track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    this.open.add(adapter);
    const dispose = adapter.dispose.bind(adapter);
    adapter.dispose = async () => {
      this.open.delete(adapter);
      await dispose();
    };
    return adapter;
  }

  private async adapter(config: pg.ClientConfig): Promise<SqlDriverAdapter> {
    // A small pool: the engine works sequentially. Errors of idle and of checked-out clients
    // (pg-pool removes its own listener on checkout) must not crash the process: the statement
    // in flight fails and says why.
    const pool = new pg.Pool({ ...config, Client: CatalogTextClient, max: 4 });
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    const schema = schemaParam(this.url);
    const adapter = await new PrismaPg(pool, {
      disposeExternalPool: true,
      ...(schema ? { schema } : {}),
    }).connect();
    // Fix 3 of 3: executeScript splits the script on every `;`, which breaks `$$` function bodies,
    // string literals and comments containing `;`. The native engine sends a migration as one
    // simple-protocol query (so PostgreSQL runs it as one implicit transaction); executeRaw with
    // no parameters does exactly that and maps errors like every other adapter call.
    adapter.executeScript = async (script: string) => {
      try {
        await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
      } catch (error) {
        this.remember(error);
        throw error;
      }
    };
    return adapter;
  }
}
