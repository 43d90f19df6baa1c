import type { ApiKeyView, CreatedApiKey, RotatedApiKey } from "@vwksp/protocol";
import { isoOrNull } from "../clock.ts";
import { type ApiKeyLifecycle, apiKeyStatus } from "./api-keys.lifecycle.ts";

type KeyRow = Awaited<ReturnType<ApiKeyLifecycle["list"]>>[number];

/** The admin API's view of a key (never its secret); `status` is as of `now`. */
export function toApiKeyView(row: KeyRow, now: Date): ApiKeyView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    scopes: row.scopes,
    status: apiKeyStatus(row, now),
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: isoOrNull(row.lastUsedAt),
    expiresAt: isoOrNull(row.expiresAt),
    revokedAt: isoOrNull(row.revokedAt),
    replacedById: row.replacedById,
  };
}

/** A key just made, with its secret: the only answer that shows it. */
export function toCreatedApiKey(created: { record: KeyRow; key: string }, now: Date): CreatedApiKey {
  return { ...toApiKeyView(created.record, now), key: created.key };
}

/** The successor of a rotated key, with its secret, and when the rotated-away key stops working. */
export function toRotatedApiKey(
  rotated: { record: KeyRow; key: string; previous: { endsAt: Date } },
  now: Date,
): RotatedApiKey {
  return { ...toCreatedApiKey(rotated, now), previousKeyEndsAt: rotated.previous.endsAt.toISOString() };
}
