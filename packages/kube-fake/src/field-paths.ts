import { isPlainObject, type Json } from "./types.ts";

/**
 * Field paths at the granularity server-side apply tracks here: every key of a map is a field of
 * its own, lists are atomic (a CRD's default list type) and empty maps are leaves.
 */
export type FieldPath = readonly string[];

export const pathKey = (path: FieldPath) => JSON.stringify(path);

/** `.spec.chart.version`, as fieldpath.Path prints in conflict messages. */
export const printPath = (path: FieldPath) => path.map((name) => `.${name}`).join("");

export function leafPaths(value: unknown, prefix: FieldPath = []): FieldPath[] {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
  }
  return prefix.length > 0 ? [prefix] : [];
}

export function valueAt(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const name of path) {
    if (!isPlainObject(current)) return undefined;
    current = current[name];
  }
  return current;
}

export function setAt(target: Json, path: FieldPath, value: unknown) {
  let current = target;
  for (const name of path.slice(0, -1)) {
    if (!isPlainObject(current[name])) current[name] = {};
    current = current[name] as Json;
  }
  const last = path.at(-1);
  if (last !== undefined) current[last] = structuredClone(value);
}

export function deleteAt(target: Json, path: FieldPath) {
  const parent = valueAt(target, path.slice(0, -1));
  const last = path.at(-1);
  if (isPlainObject(parent) && last !== undefined) delete parent[last];
}

/** One path contains the other (a map and one of its keys). */
export const overlaps = (a: FieldPath, b: FieldPath) =>
  a.length <= b.length ? a.every((name, i) => b[i] === name) : b.every((name, i) => a[i] === name);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => key in b && deepEqual(a[key], b[key]))
    );
  }
  return false;
}

/** FieldsV1 (`{"f:data": {"f:a": {}}}`) from paths, and back. */
export function toFieldsV1(paths: FieldPath[]): Json {
  const root: Json = {};
  for (const path of paths) {
    let node = root;
    for (const name of path) {
      const key = `f:${name}`;
      node[key] ??= {};
      node = node[key] as Json;
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown, prefix: FieldPath = []): FieldPath[] {
  const children = isPlainObject(fields) ? Object.keys(fields).filter((key) => key.startsWith("f:")) : [];
  if (children.length === 0) return prefix.length > 0 ? [prefix] : [];
  return children.flatMap((key) => fromFieldsV1((fields as Json)[key], [...prefix, key.slice(2)]));
}
