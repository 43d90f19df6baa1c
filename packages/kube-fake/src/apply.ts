import {
  deepEqual,
  deleteAt,
  type FieldPath,
  overlaps,
  pathKey,
  printPath,
  setAt,
  valueAt,
} from "./field-paths.ts";
import {
  decodeOwnership,
  describeManager,
  encodeOwnership,
  type Ownership,
  ownableFields,
  type Scope,
  sameOwner,
  withoutFields,
} from "./managed-fields.ts";
import { applyConflict, type FieldConflict } from "./status.ts";
import type { KubeObject } from "./types.ts";

export interface ApplyInput {
  live: KubeObject | undefined;
  config: KubeObject;
  manager: string;
  force: boolean;
  scope: Scope;
  statusSubresource: boolean;
  time: string;
}

/** Fields of the config that another manager owns with a different live value. */
function findConflicts(input: ApplyInput, others: Ownership[], configFields: FieldPath[]) {
  const conflicts: (FieldConflict & { owner: Ownership; field: FieldPath })[] = [];
  for (const owner of others) {
    for (const field of configFields) {
      for (const owned of owner.fields.filter((path) => overlaps(path, field))) {
        if (deepEqual(valueAt(input.live, field), valueAt(input.config, field))) continue;
        const deeper = owned.length > field.length ? owned : field;
        conflicts.push({ owner, field: owned, manager: describeManager(owner), path: printPath(deeper) });
      }
    }
  }
  const unique = new Map(conflicts.map((c) => [`${c.manager}|${c.path}`, c]));
  return [...unique.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Server-side apply: the config's fields are set, fields this manager applied before and no
 * longer applies are removed (unless someone else owns them), another manager's field with a
 * different value is a conflict unless forced, equal values become shared ownership.
 */
export function serverSideApply(input: ApplyInput): KubeObject {
  const owners = decodeOwnership(input.live);
  const me = { manager: input.manager, operation: "Apply" as const, apiVersion: input.config.apiVersion };
  const subresource = input.scope === "status" ? "status" : undefined;
  const previous = owners.find((owner) => sameOwner(owner, { ...me, subresource }));
  const others = owners.filter((owner) => owner !== previous);
  const configFields = ownableFields(input.config, input.scope, input.statusSubresource);

  const conflicts = findConflicts(input, others, configFields);
  if (conflicts.length > 0 && !input.force) throw applyConflict(conflicts);
  const taken = conflicts.map((c) => c.field);
  for (const owner of others) owner.fields = withoutFields(owner.fields, taken);

  const result = structuredClone(input.live ?? input.config) as KubeObject;
  const configKeys = new Set(configFields.map(pathKey));
  for (const dropped of previous?.fields ?? []) {
    if (configKeys.has(pathKey(dropped))) continue;
    if (others.some((owner) => owner.fields.some((field) => overlaps(field, dropped)))) continue;
    deleteAt(result, dropped);
  }
  for (const field of configFields) setAt(result, field, valueAt(input.config, field));

  const unchanged = previous && sameFields(previous.fields, configFields);
  const mine: Ownership = {
    ...me,
    subresource,
    time: unchanged ? previous.time : input.time,
    fields: configFields,
  };
  result.metadata.managedFields = encodeOwnership([...others, mine]);
  return result;
}

const sameFields = (a: FieldPath[], b: FieldPath[]) =>
  a.length === b.length && a.every((path) => b.some((other) => pathKey(other) === pathKey(path)));

export interface UpdateInput {
  live: KubeObject | undefined;
  next: KubeObject;
  manager: string;
  scope: Scope;
  statusSubresource: boolean;
  time: string;
}

/**
 * Ownership after a create, update or non-apply patch: the writer owns what it changed, and every
 * other manager loses the fields whose value changed or that were removed.
 */
export function recordUpdate(input: UpdateInput): KubeObject {
  const owners = decodeOwnership(input.live);
  const before = ownableFields(input.live, input.scope, input.statusSubresource);
  const after = ownableFields(input.next, input.scope, input.statusSubresource);
  const changed = after.filter((field) => !deepEqual(valueAt(input.live, field), valueAt(input.next, field)));
  const afterKeys = new Set(after.map(pathKey));
  const removed = before.filter((field) => !afterKeys.has(pathKey(field)));
  const subresource = input.scope === "status" ? "status" : undefined;
  const writer = {
    manager: input.manager,
    operation: "Update" as const,
    apiVersion: input.next.apiVersion,
    subresource,
  };
  for (const owner of owners) owner.fields = withoutFields(owner.fields, [...changed, ...removed]);
  const existing = owners.find((owner) => sameOwner(owner, writer));
  if (existing && changed.length > 0) {
    existing.fields = [...existing.fields, ...changed];
    existing.time = input.time;
  } else if (!existing) {
    owners.push({ ...writer, time: input.time, fields: changed });
  }
  const result = structuredClone(input.next);
  result.metadata.managedFields = encodeOwnership(owners);
  return result;
}
