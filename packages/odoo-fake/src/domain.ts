import { invalidDomainField, type OdooMajor } from "./dialect.ts";
import { fault } from "./faults.ts";
import type { FakeField, FakeRow } from "./models.ts";
import { compareValues } from "./order.ts";
import { PyTuple, pyRepr } from "./py-json.ts";

/** What domain evaluation needs from the store. */
export interface DomainHost {
  version: OdooMajor;
  fieldsOf(model: string): Record<string, FakeField>;
  row(model: string, id: number): FakeRow | undefined;
  displayName(model: string, id: number): string;
}

type Predicate = (row: FakeRow) => boolean;

const LOGICAL = new Set(["&", "|", "!"]);
const OPERATORS = new Set([
  "=",
  "!=",
  "<>",
  ">",
  ">=",
  "<",
  "<=",
  "in",
  "not in",
  "like",
  "ilike",
  "not like",
  "not ilike",
  "=like",
  "=ilike",
  "=?",
]);

/** Compiles a prefix-notation domain (implicit `&` between top-level terms). */
export function compileDomain(host: DomainHost, model: string, domain: unknown): Predicate {
  if (!Array.isArray(domain)) throw fault.valueError(`Invalid domain: ${pyRepr(domain)}`);
  const terms: Predicate[] = [];
  let position = 0;
  const parse = (): Predicate => {
    const token: unknown = domain[position++];
    if (token === "&" || token === "|") {
      const left = parse();
      const right = parse();
      return token === "&" ? (row) => left(row) && right(row) : (row) => left(row) || right(row);
    }
    if (token === "!") {
      const inner = parse();
      return (row) => !inner(row);
    }
    if (Array.isArray(token) && token.length === 3) return compileLeaf(host, model, token);
    throw fault.valueError(`Invalid domain term ${pyRepr(token ?? null)}`);
  };
  while (position < domain.length) terms.push(parse());
  return (row) => terms.every((term) => term(row));
}

/** True when the domain names the field at its top level (Odoo then skips `active_test`). */
export function domainMentions(domain: unknown, field: string): boolean {
  return Array.isArray(domain) && domain.some((term) => Array.isArray(term) && term[0] === field);
}

function compileLeaf(host: DomainHost, model: string, leaf: unknown[]): Predicate {
  const [path, operator, value] = leaf;
  if (path === 1 || path === 0) return () => path === 1; // TRUE_LEAF / FALSE_LEAF
  if (typeof operator !== "string" || !OPERATORS.has(operator) || LOGICAL.has(operator)) {
    throw fault.valueError(`Invalid leaf ${pyRepr(new PyTuple(leaf))}`);
  }
  if (typeof path !== "string") throw invalidDomainField(host.version, model, leaf);
  const [name = "", ...rest] = path.split(".");
  const field = host.fieldsOf(model)[name];
  if (!field) throw invalidDomainField(host.version, model, leaf);
  if (rest.length > 0) {
    if (!field.relation) throw invalidDomainField(host.version, model, leaf);
    const related = field.relation;
    const inner = compileLeaf(host, related, [rest.join("."), operator, value]);
    return (row) =>
      relatedIds(row[name]).some((id) => {
        const target = host.row(related, id);
        return target !== undefined && inner(target);
      });
  }
  return (row) => matches(host, field, model, row, name, operator, value);
}

function relatedIds(value: unknown): number[] {
  if (typeof value === "number") return [value];
  return Array.isArray(value) ? (value as number[]) : [];
}

function isEmpty(value: unknown): boolean {
  return value === false || value === null || value === undefined;
}

function likeToRegExp(pattern: string, wrap: boolean, caseInsensitive: boolean): RegExp {
  const body = pattern
    .split("")
    .map((char) => {
      if (char === "%") return ".*";
      if (char === "_") return ".";
      return char.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return new RegExp(wrap ? `^.*${body}.*$` : `^${body}$`, caseInsensitive ? "is" : "s");
}

function matches(
  host: DomainHost,
  field: FakeField,
  model: string,
  row: FakeRow,
  name: string,
  operator: string,
  value: unknown,
): boolean {
  let stored: unknown = name === "display_name" ? host.displayName(model, row.id) : row[name];
  // many2one compared with a string: Odoo compares the related display name.
  if (field.type === "many2one" && typeof value === "string" && field.relation) {
    stored = typeof stored === "number" ? host.displayName(field.relation, stored) : false;
  }
  if (field.type === "many2many") return matchesX2many(relatedIds(stored), operator, value);
  switch (operator) {
    case "=?":
      return isEmpty(value) || equals(stored, value);
    case "=":
      return equals(stored, value);
    case "!=":
    case "<>":
      return !equals(stored, value);
    case "in":
      return asList(value).some((item) => equals(stored, item));
    case "not in":
      return !asList(value).some((item) => equals(stored, item));
    case ">":
    case ">=":
    case "<":
    case "<=":
      return !isEmpty(stored) && !isEmpty(value) && compareOp(stored, operator, value);
    default:
      return matchesLike(stored, operator, value);
  }
}

function matchesLike(stored: unknown, operator: string, value: unknown): boolean {
  const negated = operator.startsWith("not ");
  const base = negated ? operator.slice(4) : operator;
  if (isEmpty(stored)) return negated;
  const exact = base.startsWith("=");
  const regexp = likeToRegExp(String(value ?? ""), !exact, base.endsWith("ilike"));
  return regexp.test(String(stored)) !== negated;
}

function matchesX2many(ids: number[], operator: string, value: unknown): boolean {
  const wanted = isEmpty(value) ? [] : asList(value);
  const hit = ids.some((id) => wanted.includes(id));
  switch (operator) {
    case "=":
    case "in":
      return isEmpty(value) ? ids.length === 0 : hit;
    case "!=":
    case "<>":
    case "not in":
      return isEmpty(value) ? ids.length > 0 : !hit;
    default:
      throw fault.valueError(`Unsupported operator ${pyRepr(operator)} on a many2many field`);
  }
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function equals(stored: unknown, value: unknown): boolean {
  if (isEmpty(value)) return isEmpty(stored) || stored === "";
  if (isEmpty(stored)) return false;
  return stored === value;
}

function compareOp(stored: unknown, operator: string, value: unknown): boolean {
  const order = compareValues(stored, value);
  if (operator === ">") return order > 0;
  if (operator === ">=") return order >= 0;
  if (operator === "<") return order < 0;
  return order <= 0;
}
