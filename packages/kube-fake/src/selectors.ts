import { badRequest } from "./status.ts";
import type { KubeObject } from "./types.ts";

type Labels = Record<string, string>;
type Requirement = (labels: Labels) => boolean;

/** Splits on commas outside parentheses: `a in (x,y),b` is two requirements. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (char === "(") depth += 1;
    if (char === ")") depth -= 1;
    if (char === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += char;
  }
  parts.push(current.trim());
  return parts.filter((part) => part !== "");
}

const KEY = "([A-Za-z0-9][-A-Za-z0-9_./]*)";
const VALUE = "([-A-Za-z0-9_.]*)";
const FORMS: [RegExp, (match: RegExpMatchArray) => Requirement][] = [
  [
    new RegExp(`^!\\s*${KEY}$`),
    ([, key = ""]) =>
      (labels) =>
        !(key in labels),
  ],
  [
    new RegExp(`^${KEY}\\s*!=\\s*${VALUE}$`),
    ([, key = "", value]) =>
      (labels) =>
        labels[key] !== value,
  ],
  [
    new RegExp(`^${KEY}\\s*==?\\s*${VALUE}$`),
    ([, key = "", value]) =>
      (labels) =>
        labels[key] === value,
  ],
  [
    new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(([^)]*)\\)$`),
    ([, key = "", operator, list = ""]) => {
      const values = list.split(",").map((value) => value.trim());
      return operator === "in"
        ? (labels) => key in labels && values.includes(labels[key] ?? "")
        : (labels) => !(key in labels) || !values.includes(labels[key] ?? "");
    },
  ],
  [
    new RegExp(`^${KEY}$`),
    ([, key = ""]) =>
      (labels) =>
        key in labels,
  ],
];

/** A labelSelector query parameter (equality- and set-based), as a predicate on objects. */
export function parseLabelSelector(text: string | null): (object: KubeObject) => boolean {
  if (!text) return () => true;
  const requirements = splitRequirements(text).map((part) => {
    for (const [pattern, build] of FORMS) {
      const match = part.match(pattern);
      if (match) return build(match);
    }
    throw badRequest(`unable to parse requirement: invalid label selector: "${part}"`);
  });
  return (object) => requirements.every((matches) => matches(object.metadata.labels ?? {}));
}

/** The field labels every kind supports; kind-specific ones (spec.nodeName, …) are not served. */
const FIELDS: Record<string, (object: KubeObject) => string> = {
  "metadata.name": (object) => object.metadata.name,
  "metadata.namespace": (object) => object.metadata.namespace ?? "",
};

export function parseFieldSelector(text: string | null): (object: KubeObject) => boolean {
  if (!text) return () => true;
  const terms = text.split(",").map((term) => {
    const match = term.trim().match(/^([^!=]+?)\s*(!=|==|=)\s*(.*)$/);
    if (!match) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = "", operator, value] = match;
    const read = FIELDS[field];
    if (!read) throw badRequest(`field label not supported: ${field}`);
    return (object: KubeObject) => (operator === "!=" ? read(object) !== value : read(object) === value);
  });
  return (object) => terms.every((matches) => matches(object));
}
