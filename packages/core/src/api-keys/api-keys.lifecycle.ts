import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Db } from "../db.ts";
import { badRequest, conflict, DomainError, notFound } from "../errors.ts";
import { API_KEY_FIELDS, type ApiKeysService } from "./api-keys.service.ts";
import { parseScopes, scopesBeyond, VALID_SCOPES_TEXT } from "./scope-input.ts";

/** Who manages keys: an API key (its id and scopes), or the `pnpm admin:key` command. */
export interface KeyManager {
  id: string;
  scopes: readonly string[];
}

/** The command line has the database's own access, so it may do anything. */
export const COMMAND_LINE_MANAGER: KeyManager = { id: "admin:key", scopes: ["*"] };

/** How long a rotated-away key keeps working unless the caller says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 300;

type KeyRow = Awaited<ReturnType<ApiKeysService["create"]>>["record"];

/** What the key list shows of a key; `status` is as of `now`. */
export function apiKeyStatus(row: KeyRow, now: Date): "active" | "expired" | "revoked" {
  if (row.revokedAt) return "revoked";
  if (row.expiresAt && row.expiresAt.getTime() <= now.getTime()) return "expired";
  return "active";
}

/**
 * The lifecycle of admin API keys: list, create (shown once), revoke, rotate. Every change is
 * audited and announced through `keyChanged`, which drops the key from every process's cache.
 */
export function createApiKeyLifecycle(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  keys: ApiKeysService;
  /** Announces a revoked or shortened key to every process (Redis pub/sub in the apps). */
  keyChanged: (keyId: string) => Promise<void>;
}) {
  const { db, clock, audit, keys } = deps;

  async function list(organizationId: string) {
    return db.apiKey.findMany({
      where: { organizationId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      select: API_KEY_FIELDS,
      take: 1_000,
    });
  }

  async function create(
    manager: KeyManager,
    input: { organizationId: string; name: string; scopes: readonly string[]; expiresAt?: Date | undefined },
  ) {
    const scopes = grantableScopes(manager, input.scopes);
    if (input.expiresAt && input.expiresAt.getTime() <= clock.now().getTime()) {
      throw badRequest("invalid_request", "expiresAt must be in the future");
    }
    const created = await db.$transaction(async (tx) => {
      const made = await keys.create(
        {
          organizationId: input.organizationId,
          name: input.name,
          scopes,
          expiresAt: input.expiresAt ?? null,
        },
        tx,
      );
      await audit.record(
        {
          source: "user",
          kind: "ApiKeyCreated",
          actor: manager.id,
          organizationId: input.organizationId,
          data: { keyId: made.record.id, name: input.name, scopes },
        },
        tx,
      );
      return made;
    });
    return created;
  }

  async function revoke(manager: KeyManager, organizationId: string, id: string) {
    const row = await manageable(manager, organizationId, id);
    if (row.revokedAt) return row;
    const revoked = await db.$transaction(async (tx) => {
      const updated = await tx.apiKey.update({
        where: { id },
        data: { revokedAt: clock.now() },
        select: API_KEY_FIELDS,
      });
      await audit.record(
        {
          source: "user",
          kind: "ApiKeyRevoked",
          actor: manager.id,
          organizationId,
          data: { keyId: id, name: row.name },
        },
        tx,
      );
      return updated;
    });
    await deps.keyChanged(id);
    return revoked;
  }

  /**
   * A new key with the same name and scopes, shown once; the old one keeps working for
   * `overlapSeconds` (0 = revoked at once) so a consumer can be switched without an outage. A key
   * rotated before answers 409: rotate its successor instead (or revoke it, if that answer was lost).
   */
  async function rotate(
    manager: KeyManager,
    organizationId: string,
    id: string,
    options: { overlapSeconds?: number | undefined; expiresAt?: Date | undefined } = {},
  ) {
    const row = await manageable(manager, organizationId, id);
    const now = clock.now();
    if (apiKeyStatus(row, now) !== "active") {
      throw conflict(
        "api_key_inactive",
        `API key ${id} is ${apiKeyStatus(row, now)}; create a new one instead`,
      );
    }
    if (row.replacedById) {
      throw conflict(
        "api_key_rotated",
        `API key ${id} was already rotated to ${row.replacedById}; rotate that one, or revoke it if its secret was lost`,
      );
    }
    if (options.expiresAt && options.expiresAt.getTime() <= now.getTime()) {
      throw badRequest("invalid_request", "expiresAt must be in the future");
    }
    const overlapSeconds = options.overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
    const overlapEnds = new Date(now.getTime() + overlapSeconds * 1_000);
    const oldEnds = row.expiresAt && row.expiresAt < overlapEnds ? row.expiresAt : overlapEnds;
    const rotated = await db.$transaction(async (tx) => {
      const made = await keys.create(
        { organizationId, name: row.name, scopes: row.scopes, expiresAt: options.expiresAt ?? null },
        tx,
      );
      // Compare-and-set: of two rotations racing, one wins and the other finds the key rotated.
      const claimed = await tx.apiKey.updateMany({
        where: { id, replacedById: null, revokedAt: null },
        data: {
          replacedById: made.record.id,
          ...(overlapSeconds === 0 ? { revokedAt: now } : { expiresAt: oldEnds }),
        },
      });
      if (claimed.count !== 1)
        throw conflict("api_key_rotated", `API key ${id} was rotated or revoked meanwhile`);
      await audit.record(
        {
          source: "user",
          kind: "ApiKeyRotated",
          actor: manager.id,
          organizationId,
          data: {
            keyId: id,
            replacedById: made.record.id,
            name: row.name,
            oldKeyEndsAt: (overlapSeconds === 0 ? now : oldEnds).toISOString(),
          },
        },
        tx,
      );
      return made;
    });
    await deps.keyChanged(id);
    return { ...rotated, previous: { id, endsAt: overlapSeconds === 0 ? now : oldEnds } };
  }

  /** The scopes as stored, or 400 naming the unknown ones / 403 naming those beyond the manager's. */
  function grantableScopes(manager: KeyManager, requested: readonly string[]): string[] {
    const { scopes, unknown } = parseScopes(requested);
    if (unknown.length > 0 || scopes.length === 0) {
      throw badRequest(
        "unknown_scope",
        `${unknown.length > 0 ? `unknown scope(s): ${unknown.join(", ")}` : "no scope given"}; valid scopes: ${VALID_SCOPES_TEXT}`,
      );
    }
    const beyond = scopesBeyond(manager.scopes, scopes);
    if (beyond.length > 0) {
      throw new DomainError(
        403,
        "insufficient_scope",
        `a key can only grant scopes it holds itself; this one lacks ${beyond.join(", ")}`,
      );
    }
    return scopes;
  }

  /** The key, if it belongs to the organization and holds nothing the manager lacks. */
  async function manageable(manager: KeyManager, organizationId: string, id: string) {
    const row = await db.apiKey.findFirst({ where: { id, organizationId }, select: API_KEY_FIELDS });
    if (!row) throw notFound(`no API key ${id} in this organization`);
    const beyond = scopesBeyond(manager.scopes, row.scopes);
    if (beyond.length > 0) {
      throw new DomainError(
        403,
        "insufficient_scope",
        `this key cannot manage a key holding ${beyond.join(", ")}`,
      );
    }
    return row;
  }

  return { list, create, revoke, rotate };
}

export type ApiKeyLifecycle = ReturnType<typeof createApiKeyLifecycle>;
