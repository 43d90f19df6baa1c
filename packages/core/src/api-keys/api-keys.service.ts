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

  async function create(input: { organizationId: string; name: string; scopes: string[] }) {
    const key = `${API_KEY_PREFIX}${randomHex(24)}`;
    const record = await db.apiKey.create({
      data: { ...input, keyHash: sha256Hex(key) },
      select: { id: true, organizationId: true, name: true, scopes: true, createdAt: true },
    });
    return { key, record };
  }

  /** Makes sure `key` exists as an all-scope key of the default organization (idempotent). */
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
      update: { revokedAt: null },
      select: { id: true, organizationId: true },
    });
  }

  async function authenticate(key: string): Promise<ApiKeyPrincipal | null> {
    if (!KEY_SHAPE.test(key)) return null;
    const hash = sha256Hex(key);
    const now = clock.now().getTime();
    const cached = cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const record = await db.apiKey.findUnique({
      where: { keyHash: hash },
      select: { id: true, organizationId: true, scopes: true, revokedAt: true },
    });
    const principal =
      record && !record.revokedAt
        ? { keyId: record.id, organizationId: record.organizationId, scopes: record.scopes }
        : null;
    if (cache.size > 10_000) cache.clear();
    cache.set(hash, { principal, until: now + cacheTtlMs });
    return principal;
  }

  return { create, ensureBootstrapKey, authenticate };
}

export type ApiKeysService = ReturnType<typeof createApiKeysService>;
