import { API_KEY_PREFIX } from "@vwksp/protocol";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { randomHex, sha256Hex } from "../hashing.ts";
import { ensureDefaultOrganization } from "../organizations/organizations.repo.ts";
import { ALL_SCOPES } from "./scopes.ts";

export interface ApiKeyPrincipal {
  keyId: string;
  organizationId: string;
  scopes: string[];
}

interface Deps {
  db: Db;
  clock: Clock;
  /** How long a verified key stays cached in this process. */
  cacheTtlMs?: number;
}

const KEY_SHAPE = /^vwksp-key-[A-Za-z0-9_-]{20,200}$/;
const LAST_USED_RESOLUTION_MS = 60_000;

/** What may be shown of a key: everything but its hash. */
export const API_KEY_FIELDS = {
  id: true,
  organizationId: true,
  name: true,
  scopes: true,
  createdAt: true,
  lastUsedAt: true,
  expiresAt: true,
  revokedAt: true,
  replacedById: true,
} as const;

/**
 * What a presented key's failures count against besides the address: its first characters, the
 * same for every presentation of one key (a revoked key retried from many addresses) and never
 * enough to find the key by.
 */
export function apiKeyFailureIdentity(key: string): string | undefined {
  if (!KEY_SHAPE.test(key)) return undefined;
  return `key:${key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 8)}`;
}

/** Admin/Odoo API keys: stored as SHA-256, shown once at creation. */
export function createApiKeysService({ db, clock, cacheTtlMs = 5_000 }: Deps) {
  const cache = new Map<string, { principal: ApiKeyPrincipal | null; until: number }>();
  // Bumped by every invalidation: a database read that started before one is not cached.
  let generation = 0;

  async function create(
    input: { organizationId: string; name: string; scopes: string[]; expiresAt?: Date | null },
    writer: Pick<Db, "apiKey"> = db,
  ) {
    const key = `${API_KEY_PREFIX}${randomHex(24)}`;
    const record = await writer.apiKey.create({
      data: { ...input, keyHash: sha256Hex(key) },
      select: API_KEY_FIELDS,
    });
    return { key, record };
  }

  /**
   * Makes sure `key` exists as an all-scope key of the default organization (idempotent). A key
   * revoked through the API stays revoked: a restart must not bring back what an admin turned off.
   */
  async function ensureBootstrapKey(key: string) {
    const organization = await ensureDefaultOrganization(db);
    return db.apiKey.upsert({
      where: { keyHash: sha256Hex(key) },
      create: {
        organizationId: organization.id,
        name: "bootstrap",
        scopes: [ALL_SCOPES],
        keyHash: sha256Hex(key),
      },
      update: {},
      select: { id: true, organizationId: true, revokedAt: true },
    });
  }

  async function authenticate(key: string): Promise<ApiKeyPrincipal | null> {
    if (!KEY_SHAPE.test(key)) return null;
    const hash = sha256Hex(key);
    const now = clock.now().getTime();
    const cached = cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const readAt = generation;
    const record = await db.apiKey.findUnique({
      where: { keyHash: hash },
      select: {
        id: true,
        organizationId: true,
        scopes: true,
        revokedAt: true,
        expiresAt: true,
        lastUsedAt: true,
      },
    });
    const live = record && !record.revokedAt && (!record.expiresAt || record.expiresAt.getTime() > now);
    const principal = live
      ? { keyId: record.id, organizationId: record.organizationId, scopes: record.scopes }
      : null;
    if (cache.size > 10_000) cache.clear();
    // An expiring key leaves the cache when it expires, not up to cacheTtlMs later.
    const until = Math.min(now + cacheTtlMs, record?.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    if (readAt === generation) cache.set(hash, { principal, until });
    if (live) noteUse(record.id, record.lastUsedAt, now);
    return principal;
  }

  /** lastUsedAt for the key list, written at most once a minute per key (never per request). */
  function noteUse(keyId: string, lastUsedAt: Date | null, now: number) {
    if (lastUsedAt && now - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    db.apiKey
      .updateMany({
        where: {
          id: keyId,
          OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now - LAST_USED_RESOLUTION_MS) } }],
        },
        data: { lastUsedAt: new Date(now) },
      })
      .catch(() => {}); // bookkeeping only: an outage shows in the request that needs the database
  }

  /** Drops what this process cached about one key (revoked, rotated or changed elsewhere). */
  function invalidateKey(keyId: string) {
    generation += 1;
    for (const [hash, entry] of cache) if (entry.principal?.keyId === keyId) cache.delete(hash);
  }

  /** Drops every cached key (after a gap in the invalidation subscription). */
  function invalidateAll() {
    generation += 1;
    cache.clear();
  }

  return { create, ensureBootstrapKey, authenticate, invalidateKey, invalidateAll };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;
