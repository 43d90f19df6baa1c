import type { Cluster } from "../db.ts";
import { badRequest, forbidden } from "../errors.ts";
import { catalogEntryAllowed, namespaceAllowed, operationTemplateAllowed } from "./policy.ts";
import {
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  OPERATION_TEMPLATES,
  REQUEST_OPERATION,
} from "./render.ts";

/**
 * What a raw job acts on, read from its payload: the object, its namespace, and for intents the
 * catalog entry or operation template. Raw jobs get exactly the allow-lists the application and
 * operation routes apply — a raw payload is not a way around them.
 */
export interface RawJobScope {
  kind: string;
  namespace: string;
  name: string;
  catalogId?: string;
  /** The built-in operation template the Operation's spec.type and spec.engine amount to. */
  template?: string;
}

type JsonObject = Record<string, unknown>;
const str = (value: unknown) => (typeof value === "string" ? value : "");
const obj = (value: unknown): JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};

const invalid = (message: string) => badRequest("invalid_payload", message);

/** The scope of a raw job, or 400 when the payload is not one of the documented shapes. */
export function rawJobScope(kind: string, payload: JsonObject): RawJobScope {
  if (kind === "apply") {
    const metadata = obj(payload.metadata);
    if (!str(payload.apiVersion) || !str(payload.kind) || !str(metadata.name)) {
      throw invalid("an apply payload is a Kubernetes manifest with apiVersion, kind and metadata.name");
    }
    return { kind: str(payload.kind), namespace: str(metadata.namespace), name: str(metadata.name) };
  }
  if (kind === "delete") {
    if (!str(payload.apiVersion) || !str(payload.kind) || !str(payload.name)) {
      throw invalid("a delete payload is {apiVersion, kind, name, namespace}");
    }
    return { kind: str(payload.kind), namespace: str(payload.namespace), name: str(payload.name) };
  }
  const intent = str(payload.intent);
  if (intent === ENSURE_APPLICATION_INSTANCE) {
    const instance = obj(payload.applicationInstance);
    const metadata = obj(instance.metadata);
    const catalogId = str(obj(obj(instance.spec).appRef).catalogId);
    if (!str(metadata.name) || !str(metadata.namespace) || !catalogId) {
      throw invalid(
        "ensure-application-instance needs applicationInstance.metadata.name, metadata.namespace and spec.appRef.catalogId",
      );
    }
    return {
      kind: "ApplicationInstance",
      namespace: str(metadata.namespace),
      name: str(metadata.name),
      catalogId,
    };
  }
  if (intent === REQUEST_OPERATION) {
    const operation = obj(payload.operation);
    const metadata = obj(operation.metadata);
    const spec = obj(operation.spec);
    if (!str(metadata.name) || !str(metadata.namespace) || !str(spec.type) || !str(spec.engine)) {
      throw invalid(
        "request-operation needs operation.metadata.name, metadata.namespace, spec.type and spec.engine",
      );
    }
    const template = Object.entries(OPERATION_TEMPLATES).find(
      ([, known]) => known.type === spec.type && known.engine === spec.engine,
    )?.[0];
    return {
      kind: "Operation",
      namespace: str(metadata.namespace),
      name: str(metadata.name),
      ...(template ? { template } : {}),
    };
  }
  if (intent === DELETE_APPLICATION_INSTANCE) {
    if (!str(payload.name) || !str(payload.namespace)) {
      throw invalid("delete-application-instance needs name and namespace");
    }
    return { kind: "ApplicationInstance", namespace: str(payload.namespace), name: str(payload.name) };
  }
  throw invalid(
    `intent must be one of ${ENSURE_APPLICATION_INSTANCE}, ${REQUEST_OPERATION}, ${DELETE_APPLICATION_INSTANCE}`,
  );
}

type Policy = Pick<Cluster, "allowedNamespaces" | "allowedCatalogEntries" | "allowedOperationTemplates">;

/** 403 when the cluster's allow-lists do not cover the scope; nothing when they do. */
export function requireRawJobAllowed(cluster: Policy, scope: RawJobScope): void {
  const allowed = cluster.allowedNamespaces.join(", ");
  if (!scope.namespace) {
    // A cluster-scoped object. Only a Namespace is within reach: its name is what the
    // allow-list speaks of. Anything else (RBAC, CRDs, nodes) is outside every namespace.
    if (scope.kind !== "Namespace") {
      throw forbidden(
        "cluster_scoped_not_allowed",
        `${scope.kind} "${scope.name}" has no namespace: raw jobs act only inside the cluster's allowedNamespaces (${allowed})`,
      );
    }
    if (!namespaceAllowed(cluster, scope.name)) {
      throw forbidden(
        "namespace_not_allowed",
        `namespace "${scope.name}" matches none of the cluster's allowedNamespaces (${allowed})`,
      );
    }
    return;
  }
  if (!namespaceAllowed(cluster, scope.namespace)) {
    throw forbidden(
      "namespace_not_allowed",
      `namespace "${scope.namespace}" matches none of the cluster's allowedNamespaces (${allowed})`,
    );
  }
  if (scope.catalogId !== undefined && !catalogEntryAllowed(cluster, scope.catalogId)) {
    throw forbidden(
      "catalog_entry_not_allowed",
      `catalog entry "${scope.catalogId}" is not in the cluster's allowedCatalogEntries`,
    );
  }
  if (scope.kind === "Operation" && !(scope.template && operationTemplateAllowed(cluster, scope.template))) {
    throw forbidden(
      "operation_template_not_allowed",
      scope.template
        ? `operation template "${scope.template}" is not in the cluster's allowedOperationTemplates`
        : "the operation's spec.type and spec.engine match no operation template",
    );
  }
}
