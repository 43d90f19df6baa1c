import { deepEqual } from "./field-paths.ts";
import type { Scope } from "./managed-fields.ts";
import type { ResourceType } from "./resources.ts";
import { badRequest, type FieldError, invalid } from "./status.ts";
import { isPlainObject, type Json, type KubeObject } from "./types.ts";

/** Departures from a real API server that older tests rely on; all off by default. */
export interface Deviations {
  /** Track metadata.generation on every kind (a real server does not on ConfigMaps, Secrets, …). */
  generationOnEveryKind?: boolean;
  /** Leave out the `kubernetes.io/metadata.name` label a real server puts on every namespace. */
  omitNamespaceNameLabel?: boolean;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** metadata.name rules: namespaces are DNS-1123 labels, everything else here DNS-1123 subdomains. */
export function validateName(resource: ResourceType, name: string) {
  const label = resource.plural === "namespaces";
  const [pattern, max, what, example, regex] = label
    ? [DNS1123_LABEL, 63, "RFC 1123 label", "'my-name',  or '123-abc'", "[a-z0-9]([-a-z0-9]*[a-z0-9])?"]
    : [
        DNS1123_SUBDOMAIN,
        253,
        "RFC 1123 subdomain",
        "'example.com'",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
      ];
  const errors: FieldError[] = [];
  if (name.length > max) {
    errors.push({
      reason: "FieldValueInvalid",
      field: "metadata.name",
      detail: `Invalid value: "${name}": must be no more than ${max} characters`,
    });
  }
  if (!pattern.test(name)) {
    const allowed = label ? "'-'" : "'-' or '.'";
    errors.push({
      reason: "FieldValueInvalid",
      field: "metadata.name",
      detail: `Invalid value: "${name}": a lowercase ${what} must consist of lower case alphanumeric characters, ${allowed}, and must start and end with an alphanumeric character (e.g. ${example}, regex used for validation is '${regex}')`,
    });
  }
  if (errors.length > 0) throw invalid(resource, name, errors);
}

/** The request body names the kind the URL addresses, as the decoder insists. */
export function checkKind(resource: ResourceType, object: KubeObject, apiVersion: string) {
  if (object.kind && object.kind !== resource.kind) {
    throw badRequest(
      `the kind in the body (${object.kind}) does not match the kind on the URL (${resource.kind})`,
    );
  }
  if (object.apiVersion && object.apiVersion !== apiVersion) {
    throw badRequest(
      `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersion})`,
    );
  }
}

const tracksGeneration = (resource: ResourceType, deviations: Deviations) =>
  resource.generation || deviations.generationOnEveryKind === true;

/** What a spec change is for generation: anything outside metadata and status. */
const specOf = ({ metadata: _metadata, status: _status, ...rest }: KubeObject) => rest;

/** Kind-specific defaulting the API server does on every write. */
function normalize(resource: ResourceType, object: KubeObject, deviations: Deviations) {
  if (resource.plural === "secrets") {
    // stringData is write-only: merged into data, base64-encoded.
    if (isPlainObject(object.stringData)) {
      const data = { ...((object.data as Json | undefined) ?? {}) };
      for (const [key, value] of Object.entries(object.stringData)) {
        data[key] = Buffer.from(String(value)).toString("base64");
      }
      object.data = data;
      delete object.stringData;
    }
    object.type ??= "Opaque";
  }
  if (resource.plural === "namespaces") {
    object.spec ??= { finalizers: ["kubernetes"] };
    if (!deviations.omitNamespaceNameLabel) {
      object.metadata.labels = {
        ...object.metadata.labels,
        "kubernetes.io/metadata.name": object.metadata.name,
      };
    }
  }
}

export interface CreateContext {
  resource: ResourceType;
  namespace: string | undefined;
  uid: string;
  time: string;
  deviations: Deviations;
}

/** PrepareForCreate: server-owned metadata set, status dropped where a subresource owns it. */
export function prepareCreate(object: KubeObject, context: CreateContext): KubeObject {
  const { resource } = context;
  const prepared = structuredClone(object);
  prepared.apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
  prepared.kind = resource.kind;
  const { resourceVersion: _rv, generation: _g, deletionTimestamp: _d, ...metadata } = prepared.metadata;
  prepared.metadata = {
    ...metadata,
    ...(context.namespace ? { namespace: context.namespace } : {}),
    uid: context.uid,
    ...(tracksGeneration(resource, context.deviations) ? { generation: 1 } : {}),
    creationTimestamp: context.time,
  };
  if (resource.statusSubresource) delete prepared.status;
  if (resource.plural === "namespaces") prepared.status = { phase: "Active" };
  normalize(resource, prepared, context.deviations);
  return prepared;
}

/**
 * PrepareForUpdate: identity and timestamps come from the stored object; a main-resource write
 * keeps the stored status and a status write keeps everything but status; generation moves only
 * when something outside metadata and status changed.
 */
export function prepareUpdate(
  live: KubeObject,
  next: KubeObject,
  scope: Scope,
  resource: ResourceType,
  deviations: Deviations,
): KubeObject {
  const prepared: KubeObject =
    scope === "status"
      ? { ...structuredClone(live), status: structuredClone(next.status) }
      : structuredClone(next);
  if (scope === "status" && next.status === undefined) delete prepared.status;
  if (scope === "status") prepared.metadata.managedFields = next.metadata.managedFields;
  if (scope === "main" && resource.statusSubresource) {
    if (live.status === undefined) delete prepared.status;
    else prepared.status = structuredClone(live.status);
  }
  prepared.apiVersion = live.apiVersion;
  prepared.kind = live.kind;
  const { uid, creationTimestamp, namespace, name, deletionTimestamp, generation } = live.metadata;
  prepared.metadata = {
    ...prepared.metadata,
    name,
    ...(namespace ? { namespace } : {}),
    uid,
    creationTimestamp,
    ...(deletionTimestamp ? { deletionTimestamp, deletionGracePeriodSeconds: 0 } : {}),
  };
  delete prepared.metadata.resourceVersion;
  if (generation !== undefined) {
    prepared.metadata.generation = deepEqual(specOf(live), specOf(prepared)) ? generation : generation + 1;
  } else {
    delete prepared.metadata.generation;
  }
  normalize(resource, prepared, deviations);
  return prepared;
}

/** Equal but for resourceVersion: a write that changes nothing is not stored (no new version). */
export function unchanged(live: KubeObject, next: KubeObject) {
  const { resourceVersion: _a, ...liveMeta } = live.metadata;
  const { resourceVersion: _b, ...nextMeta } = next.metadata;
  return deepEqual({ ...live, metadata: liveMeta }, { ...next, metadata: nextMeta });
}
