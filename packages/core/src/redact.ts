/**
 * Every secret this service issues starts with one of these prefixes (docs/architecture.md).
 * At least one secret character must follow: a bare prefix is documentation ("Bearer vwksp-key-…"
 * in a 401 hint), not a secret, and must reach the reader intact.
 */
const TOKEN_SHAPED = /vwksp-(reg|agt|key)-[A-Za-z0-9_-]+/g;
/** Query parameters whose value is a secret, named as the server reads them (decoded). */
const SECRET_PARAMETERS = new Set(["secret", "token", "key"]);
// A query parameter up to its value's end; stops at a quote or a backslash too: it runs on
// finished JSON log lines as well as on plain strings.
const QUERY_PARAMETER = /([?&])([^=&#\s"\\]+)=([^&#\s"\\]*)/g;
/** Cheap pre-check: a secret parameter's name, or any percent-encoded name (`secr%65t`). */
const MAYBE_SECRET_PARAMETER = /[?&](?:secret|token|key|[^=&#\s"\\]*%[0-9A-Fa-f]{2}[^=&#\s"\\]*)=/i;

/** A parameter name as the server's query parser sees it: `+` is a space, `%65` an `e`. */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll("+", " ")).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/**
 * Replaces token-shaped substrings and the values of secret query parameters with a marker.
 * Parameter names are compared decoded: `?secr%65t=…` is `?secret=…` to the server.
 */
export function redactString(value: string): string {
  const tokens = value.includes("vwksp-");
  const parameters = MAYBE_SECRET_PARAMETER.test(value);
  if (!tokens && !parameters) return value;
  const redacted = tokens ? value.replace(TOKEN_SHAPED, "vwksp-$1-[REDACTED]") : value;
  if (!parameters) return redacted;
  return redacted.replace(QUERY_PARAMETER, (parameter, separator: string, name: string) =>
    SECRET_PARAMETERS.has(decodedName(name)) ? `${separator}${name}=[REDACTED]` : parameter,
  );
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
