import { lastLine, recordedLastLine } from "../../../odoo/test/support/transcripts.ts";

const DATETIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** Values that cannot match between two servers; only their form is checked. */
const LOOSE_KEYS: Record<string, (value: unknown) => boolean> = {
  create_date: (value) => typeof value === "string" && DATETIME.test(value),
  write_date: (value) => typeof value === "string" && DATETIME.test(value),
  partner_write_date: (value) => typeof value === "string" && DATETIME.test(value),
  registry_hash: (value) => typeof value === "string" && /^[0-9a-f]{64}$/.test(value),
  server_version: (value) => typeof value === "string" && /^\d+\.\d/.test(value),
  "web.base.url": (value) => typeof value === "string" && /^https?:\/\//.test(value),
};

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Structural comparison: same keys in the same order, same values, except `debug` (only its last
 * line, which the recorder kept) and the LOOSE_KEYS. `subset` accepts extra keys and items (for a
 * recording the recorder truncated).
 */
export function diffJson(expected: unknown, actual: unknown, subset = false, path = "$"): string[] {
  if (isObject(expected)) {
    if (!isObject(actual)) return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    const expectedKeys = Object.keys(expected);
    const actualKeys = Object.keys(actual);
    const shownKeys = subset ? actualKeys.filter((key) => key in expected) : actualKeys;
    const problems: string[] = [];
    if (shownKeys.join(",") !== expectedKeys.join(",")) {
      problems.push(`${path}: keys [${actualKeys.join(", ")}], expected [${expectedKeys.join(", ")}]`);
    }
    for (const key of expectedKeys) {
      if (!(key in actual)) continue;
      const where = `${path}.${key}`;
      const loose = LOOSE_KEYS[key];
      if (key === "debug") problems.push(...diffDebug(expected[key], actual[key], where));
      else if (loose) {
        if (!loose(expected[key])) problems.push(`${where}: recorded value has an unexpected form`);
        if (!loose(actual[key])) problems.push(`${where}: ${JSON.stringify(actual[key])} has the wrong form`);
      } else problems.push(...diffJson(expected[key], actual[key], subset, where));
    }
    return problems;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    const lengthOk = subset ? actual.length >= expected.length : actual.length === expected.length;
    if (!lengthOk) return [`${path}: ${actual.length} items, expected ${expected.length}`];
    return expected.flatMap((item, index) => diffJson(item, actual[index], subset, `${path}[${index}]`));
  }
  return Object.is(expected, actual)
    ? []
    : [`${path}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`];
}

function diffDebug(expected: unknown, actual: unknown, path: string): string[] {
  if (typeof actual !== "string") return [`${path}: expected a traceback string`];
  const recorded = typeof expected === "string" ? recordedLastLine(expected) : undefined;
  if (recorded === undefined) return [`${path}: recorded debug summary not understood`];
  const got = lastLine(actual);
  return got === recorded.trimEnd()
    ? []
    : [`${path}: last line ${JSON.stringify(got)}, expected ${JSON.stringify(recorded)}`];
}

const LOOSE_RAW = new RegExp(
  `"(${["debug", ...Object.keys(LOOSE_KEYS)].map((key) => key.replace(".", "\\.")).join("|")})": "(?:[^"\\\\]|\\\\.)*"`,
  "g",
);

/** The raw body with loose values blanked: what must then match byte for byte. */
export function maskLooseValues(text: string): string {
  return text.replace(LOOSE_RAW, '"$1": "*"');
}
