import { z } from "zod";

/**
 * Admin requests are strict (see PageQuery in @vwksp/protocol): this turns zod's
 * "Unrecognized key" into a message that names the field and, for a typo, the field meant —
 * `unknown field "allowedNamespace" (did you mean "allowedNamespaces"?)`.
 */
export function describeUnknownFields(
  keys: readonly string[],
  path: readonly PropertyKey[],
  schema: unknown,
) {
  const known = knownFieldsAt(schema, path);
  return keys
    .map((key) => {
      const meant = closest(key, known);
      return `unknown field "${key}"${meant ? ` (did you mean "${meant}"?)` : ""}`;
    })
    .join(", ");
}

/** The field names the object schema at `path` accepts ([] when it cannot be told). */
function knownFieldsAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  for (const segment of path) current = objectShape(current)?.[String(segment)];
  return Object.keys(objectShape(current) ?? {});
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let current = schema;
  // Optional, nullable and defaulted wrappers hold the object one level down.
  for (let depth = 0; depth < 5 && current instanceof z.ZodType; depth++) {
    if (current instanceof z.ZodObject) return current.shape;
    const inner = (current.def as { innerType?: unknown }).innerType;
    if (inner === undefined) return undefined;
    current = inner;
  }
  return undefined;
}

/** The known name within two edits of `given` (case aside), if exactly one is that close. */
function closest(given: string, known: string[]): string | undefined {
  const scored = known
    .map((name) => ({ name, distance: editDistance(given.toLowerCase(), name.toLowerCase()) }))
    .filter(({ distance }) => distance <= 2)
    .sort((a, b) => a.distance - b.distance);
  return scored[0]?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
