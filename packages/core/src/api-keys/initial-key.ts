import type { Db } from "../db.ts";
import { ensureDefaultOrganization } from "../organizations/organizations.repo.ts";
import type { ApiKeysService } from "./api-keys.service.ts";
import { ALL_SCOPES } from "./scopes.ts";

/** Any number, the same in every process: serializes the check-then-create across API processes. */
const INITIAL_KEY_LOCK = 0x76776b73; // "vwks"

/**
 * The first start of a deployment that was given no BOOTSTRAP_ADMIN_KEY: when the database has
 * never held an API key, one all-scope key is made for the default organization and returned, to
 * be shown once (like a database's initial password). Any later start returns null: a revoked
 * key is not replaced behind the admin's back (`pnpm admin:key create` makes another).
 */
export async function createInitialAdminKey(db: Db, keys: ApiKeysService): Promise<string | null> {
  const organization = await ensureDefaultOrganization(db);
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${INITIAL_KEY_LOCK})`;
    if ((await tx.apiKey.count()) > 0) return null;
    const { key } = await keys.create(
      { organizationId: organization.id, name: "initial admin key", scopes: [ALL_SCOPES] },
      tx,
    );
    return key;
  });
}
