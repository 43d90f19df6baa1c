import { invalidField } from "./dialect.ts";
import type { DomainHost } from "./domain.ts";
import type { FakeRow } from "./models.ts";

function isEmpty(value: unknown): boolean {
  return value === false || value === null || value === undefined;
}

/** Orders like PostgreSQL would for these types (text with a case-insensitive collation). */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), "en");
}

/** Sort comparator for an `order` spec such as `"name asc, id desc"`. */
export function compileOrder(host: DomainHost, model: string, order: string) {
  const fields = host.fieldsOf(model);
  const terms = order
    .split(",")
    .map((term) => term.trim())
    .filter(Boolean)
    .map((term) => {
      const [name = "", direction = "asc"] = term.split(/\s+/);
      if (!fields[name]) throw invalidField(model, name);
      return { name, descending: direction.toLowerCase() === "desc" };
    });
  const sortValue = (row: FakeRow, name: string) =>
    name === "display_name" ? host.displayName(model, row.id) : row[name];
  return (a: FakeRow, b: FakeRow): number => {
    for (const { name, descending } of terms) {
      const left = sortValue(a, name);
      const right = sortValue(b, name);
      // PostgreSQL: NULLS LAST ascending, NULLS FIRST descending.
      if (isEmpty(left) || isEmpty(right)) {
        if (isEmpty(left) && isEmpty(right)) continue;
        return (isEmpty(left) ? 1 : -1) * (descending ? -1 : 1);
      }
      const result = compareValues(left, right);
      if (result !== 0) return descending ? -result : result;
    }
    return a.id - b.id;
  };
}
