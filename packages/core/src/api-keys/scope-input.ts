import { ALL_SCOPES, API_KEY_SCOPES, type ApiKeyScope, hasScope, isKnownScope } from "./scopes.ts";

/** How people write "every scope": `all` on a command line (a bare `*` meets the shell's globbing), or `*`. */
const ALL_SCOPE_WORDS = new Set([ALL_SCOPES, "all"]);

/** The scopes a person may type, for messages that list them. */
export const VALID_SCOPES_TEXT = `all (or *), ${API_KEY_SCOPES.join(", ")}`;

/** Scopes as given (`all` → `*`, duplicates and blanks dropped) and the ones it does not know. */
export function parseScopes(input: readonly string[]): { scopes: string[]; unknown: string[] } {
  const scopes: string[] = [];
  const unknown: string[] = [];
  for (const raw of input) {
    const word = raw.trim();
    if (word === "") continue;
    const scope = ALL_SCOPE_WORDS.has(word.toLowerCase()) ? ALL_SCOPES : word;
    if (!isKnownScope(scope)) unknown.push(word);
    else if (!scopes.includes(scope)) scopes.push(scope);
  }
  return { scopes, unknown };
}

/**
 * The scopes of `requested` that a key holding `granted` may not hand out: only an all-scope key
 * grants `*`, and any other key only what it holds itself (keys:write is no way to escalate).
 */
export function scopesBeyond(granted: readonly string[], requested: readonly string[]): string[] {
  if (granted.includes(ALL_SCOPES)) return [];
  return requested.filter(
    (scope) => scope === ALL_SCOPES || !isKnownScope(scope) || !hasScope(granted, scope as ApiKeyScope),
  );
}
