import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client.ts";

export type Db = PrismaClient;

/** Prisma client on the pg driver adapter (no native query engine is needed). */
export function createDb(databaseUrl: string, options: { poolSize?: number } = {}): Db {
  const adapter = new PrismaPg({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    // A dead database must fail requests quickly (503), not hang them.
    connectionTimeoutMillis: 5_000,
  });
  return new PrismaClient({ adapter });
}

export type * from "./generated/prisma/client.ts";
export { Prisma } from "./generated/prisma/client.ts";
