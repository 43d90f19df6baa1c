import { type FieldPath, fromFieldsV1, leafPaths, overlaps, toFieldsV1 } from "./field-paths.ts";
import type { KubeObject, ManagedFieldsEntry } from "./types.ts";

/** Which part of an object a write addresses: the main resource or its /status subresource. */
export type Scope = "main" | "status";

/** Set by the server, never owned by a field manager (structured-merge-diff strips them too). */
const SERVER_FIELDS: FieldPath[] = [
  ["apiVersion"],
  ["kind"],
  ["metadata", "name"],
  ["metadata", "namespace"],
  ["metadata", "uid"],
  ["metadata", "resourceVersion"],
  ["metadata", "generation"],
  ["metadata", "creationTimestamp"],
  ["metadata", "deletionTimestamp"],
  ["metadata", "deletionGracePeriodSeconds"],
  ["metadata", "managedFields"],
  ["metadata", "selfLink"],
];

/** The fields of an object a manager can own in this scope. */
export function ownableFields(object: unknown, scope: Scope, statusSubresource: boolean): FieldPath[] {
  return leafPaths(object).filter((path) => {
    if (SERVER_FIELDS.some((server) => overlaps(server, path) && server.length <= path.length)) return false;
    if (path.length === 1 && path[0] === "metadata") return false;
    const inStatus = path[0] === "status";
    if (scope === "status") return inStatus;
    return !(statusSubresource && inStatus);
  });
}

export interface Ownership {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string | undefined;
  time: string;
  fields: FieldPath[];
}

export const decodeOwnership = (object: KubeObject | undefined): Ownership[] =>
  (object?.metadata.managedFields ?? []).map((entry) => ({
    manager: entry.manager,
    operation: entry.operation,
    apiVersion: entry.apiVersion,
    subresource: entry.subresource,
    time: entry.time,
    fields: fromFieldsV1(entry.fieldsV1),
  }));

/** Entries that own nothing are dropped, as the API server drops them. */
export const encodeOwnership = (owners: Ownership[]): ManagedFieldsEntry[] =>
  owners
    .filter((owner) => owner.fields.length > 0)
    .map((owner) => ({
      manager: owner.manager,
      operation: owner.operation,
      apiVersion: owner.apiVersion,
      time: owner.time,
      fieldsType: "FieldsV1" as const,
      fieldsV1: toFieldsV1(owner.fields),
      ...(owner.subresource ? { subresource: owner.subresource } : {}),
    }));

/** How the API server names a manager in a conflict (printManager in structured-merge-diff). */
export function describeManager(owner: Ownership): string {
  const name = `"${owner.manager}"${owner.subresource ? ` with subresource "${owner.subresource}"` : ""}`;
  return owner.operation === "Update" ? `${name} using ${owner.apiVersion}` : name;
}

export const sameOwner = (a: Ownership, b: Omit<Ownership, "time" | "fields">) =>
  a.manager === b.manager &&
  a.operation === b.operation &&
  (a.subresource ?? "") === (b.subresource ?? "") &&
  (a.operation === "Apply" || a.apiVersion === b.apiVersion);

export const withoutFields = (fields: FieldPath[], removed: FieldPath[]) =>
  fields.filter((field) => !removed.some((gone) => overlaps(gone, field)));
