/**
 * Every secret this service issues starts with one of these prefixes (docs/architecture.md).
 * At least one secret character must follow: a bare prefix is documentation ("Bearer vwksp-key-…"
 * in a 401 hint), not a secret, and must reach the reader intact.
 */
const TOKEN_SHAPED = /vwksp-(reg|agt|key)-[A-Za-z0-9_-]+/g;
// Stops at a quote too: it runs on finished JSON log lines as well as on plain strings.
const SECRET_QUERY = /([?&](?:secret|token|key)=)[^&#\s"\\]*/gi;

/** Replaces token-shaped substrings and secret query parameters with a marker. */
export function redactString(value: string): string {
  if (!value.includes("vwksp-") && !/[?&](secret|token|key)=/i.test(value)) return value;
  return value.replace(TOKEN_SHAPED, "vwksp-$1-[REDACTED]").replace(SECRET_QUERY, "$1[REDACTED]");
}

/** Deep copy of a log object with every token-shaped string redacted. */
export function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object" || depth > 8) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, depth + 1);
  return out;
}
