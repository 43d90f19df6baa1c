/**
 * What an admin API key may do. `*` grants everything. `platform:admin` acts beyond the key's own
 * organization (organizations, the shared base catalog): for the platform's operators, never for
 * an organization's keys.
 */
export const API_KEY_SCOPES = [
  "clusters:read",
  "clusters:write",
  "jobs:read",
  "jobs:write",
  "catalog:write",
  "audit:read",
  "odoo:sync",
  /** The queue dashboard (Bull Board) on the metrics port, read-only. */
  "queues:read",
  /** List the organization's API keys (never their secrets). */
  "keys:read",
  /** Create, revoke and rotate API keys, up to the scopes the caller holds itself. */
  "keys:write",
  /** List outbound webhooks and their delivery logs. */
  "webhooks:read",
  /** Create and delete outbound webhooks, redeliver. */
  "webhooks:write",
  "platform:admin",
] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];
export const ALL_SCOPES = "*";

export function hasScope(granted: readonly string[], needed: ApiKeyScope): boolean {
  return granted.includes(ALL_SCOPES) || granted.includes(needed);
}

export function isKnownScope(scope: string): boolean {
  return scope === ALL_SCOPES || (API_KEY_SCOPES as readonly string[]).includes(scope);
}
