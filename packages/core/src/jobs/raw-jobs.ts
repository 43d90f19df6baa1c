import {
  type ChartRef,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  type JsonObject,
  REQUEST_OPERATION,
} from "@vwksp/protocol";
import { resolveCatalogEntry } from "../catalog/catalog-resolution.ts";
import type { Cluster, Db } from "../db.ts";
import { badRequest, forbidden } from "../errors.ts";
import {
  catalogEntryAllowed,
  namespaceAllowed,
  namespaceRefusal,
  operationTemplateAllowed,
} from "./policy.ts";
import { OPERATION_TEMPLATES } from "./render.ts";

/**
 * Raw jobs get exactly the allow-lists the application and operation routes apply: a raw payload
 * is not a way around them. What a payload acts on is read the way the operator will read it:
 *
 * - Scope comes from the kind, not from `metadata.namespace`: Kubernetes ignores that field on a
 *   cluster-scoped kind (a ClusterRoleBinding "in" org-a binds cluster-wide). So apply and delete
 *   take only namespaced kinds this service knows, plus a `v1` Namespace whose name is allowed.
 * - The operator decodes intents into Go structs, whose JSON keys match case-insensitively (the
 *   last duplicate wins), so two keys that differ only in case are refused outright.
 * - An ApplicationInstance installs its chart into `spec.release.namespace` from `spec.chart`:
 *   both must be what the allowed catalog entry and namespace say.
 */
export interface RawJobScope {
  /** apply and delete only: scope is decided by group and kind. */
  apiVersion?: string;
  kind: string;
  namespace: string;
  name: string;
  catalogId?: string;
  /** The chart an ensure-application-instance names, when it names one. */
  chart?: { sourceType: unknown; url: unknown; name: unknown };
  /** The built-in operation template the Operation's spec.type and spec.engine amount to. */
  template?: string;
}

/** Namespaced kinds a raw apply/delete may act on, by API group ("" is the core group). */
export const NAMESPACED_KINDS: Record<string, readonly string[]> = {
  "": ["ConfigMap", "Secret", "Service", "ServiceAccount", "PersistentVolumeClaim", "Pod", "Endpoints"],
  apps: ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"],
  batch: ["Job", "CronJob"],
  "networking.k8s.io": ["Ingress", "NetworkPolicy"],
  "rbac.authorization.k8s.io": ["Role", "RoleBinding"],
  policy: ["PodDisruptionBudget"],
  autoscaling: ["HorizontalPodAutoscaler"],
  "cert-manager.io": ["Certificate", "Issuer"],
};
// Not here on purpose: ApplicationInstance and Operation (their intents check the catalog and the
// templates), and whatever installs or restores other objects with the controller's own rights
// (Flux HelmRelease, Velero Restore), which would reach outside the namespace.

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "") ?? "";
const isNamespacedKind = (apiVersion: string, kind: string) =>
  NAMESPACED_KINDS[groupOf(apiVersion)]?.includes(kind) ?? false;
const isNamespaceObject = (apiVersion: string, kind: string) => apiVersion === "v1" && kind === "Namespace";

const str = (value: unknown) => (typeof value === "string" ? value : "");
const obj = (value: unknown): JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};

const invalid = (message: string) => badRequest("invalid_payload", message);

/** 400 when two keys of one of these objects differ only in case (see the module comment). */
function requireDistinctKeys(where: string, ...objects: [string, unknown][]) {
  for (const [path, value] of objects) {
    const seen = new Map<string, string>();
    for (const key of Object.keys(obj(value))) {
      const folded = key.toLowerCase();
      const other = seen.get(folded);
      if (other !== undefined) {
        throw invalid(`${where}: keys "${other}" and "${key}" of ${path} differ only in case`);
      }
      seen.set(folded, key);
    }
  }
}

/** Kubernetes' own limits: a name is at most 253 characters, a namespace or kind 63. */
function requireSizes(scope: RawJobScope): RawJobScope {
  if (scope.name.length > 253 || scope.namespace.length > 63 || scope.kind.length > 63) {
    throw invalid("a name is at most 253 characters, a namespace and a kind at most 63");
  }
  return scope;
}

/** The scope of a raw job, or 400 when the payload is not one of the documented shapes. */
export function rawJobScope(kind: string, payload: JsonObject): RawJobScope {
  if (kind === "apply") {
    const metadata = obj(payload.metadata);
    if (!str(payload.apiVersion) || !str(payload.kind) || !str(metadata.name)) {
      throw invalid("an apply payload is a Kubernetes manifest with apiVersion, kind and metadata.name");
    }
    return requireSizes({
      kind: str(payload.kind),
      namespace: str(metadata.namespace),
      name: str(metadata.name),
      ...apiVersionOf(payload),
    });
  }
  if (kind === "delete") {
    requireDistinctKeys("a delete payload", ["the payload", payload]);
    if (!str(payload.apiVersion) || !str(payload.kind) || !str(payload.name)) {
      throw invalid("a delete payload is {apiVersion, kind, name, namespace}");
    }
    return requireSizes({
      kind: str(payload.kind),
      namespace: str(payload.namespace),
      name: str(payload.name),
      ...apiVersionOf(payload),
    });
  }
  const intent = str(payload.intent);
  requireDistinctKeys("an intent", ["the payload", payload]);
  if (intent === ENSURE_APPLICATION_INSTANCE) {
    const instance = obj(payload.applicationInstance);
    const metadata = obj(instance.metadata);
    const spec = obj(instance.spec);
    requireDistinctKeys(
      ENSURE_APPLICATION_INSTANCE,
      ["applicationInstance", instance],
      ["metadata", metadata],
      ["spec", spec],
      ["spec.appRef", spec.appRef],
      ["spec.chart", spec.chart],
      ["spec.release", spec.release],
    );
    const namespace = str(metadata.namespace);
    const catalogId = str(obj(spec.appRef).catalogId);
    if (!str(metadata.name) || !namespace || !catalogId) {
      throw invalid(
        "ensure-application-instance needs applicationInstance.metadata.name, metadata.namespace and spec.appRef.catalogId",
      );
    }
    const release = obj(spec.release);
    if (release.namespace !== undefined && release.namespace !== namespace) {
      throw invalid("spec.release.namespace must be the ApplicationInstance's own namespace");
    }
    const chart = spec.chart === undefined ? undefined : obj(spec.chart);
    return requireSizes({
      kind: "ApplicationInstance",
      namespace,
      name: str(metadata.name),
      catalogId,
      ...(chart ? { chart: { sourceType: chart.sourceType, url: chart.url, name: chart.name } } : {}),
    });
  }
  if (intent === REQUEST_OPERATION) {
    const operation = obj(payload.operation);
    const metadata = obj(operation.metadata);
    const spec = obj(operation.spec);
    requireDistinctKeys(
      REQUEST_OPERATION,
      ["operation", operation],
      ["metadata", metadata],
      ["spec", spec],
      ["spec.targetRef", spec.targetRef],
    );
    const namespace = str(metadata.namespace);
    if (!str(metadata.name) || !namespace || !str(spec.type) || !str(spec.engine)) {
      throw invalid(
        "request-operation needs operation.metadata.name, metadata.namespace, spec.type and spec.engine",
      );
    }
    const target = obj(spec.targetRef);
    if (target.namespace !== undefined && target.namespace !== namespace) {
      throw invalid("spec.targetRef.namespace must be the Operation's own namespace");
    }
    const template = Object.entries(OPERATION_TEMPLATES).find(
      ([, known]) => known.type === spec.type && known.engine === spec.engine,
    )?.[0];
    return requireSizes({
      kind: "Operation",
      namespace,
      name: str(metadata.name),
      ...(template ? { template } : {}),
    });
  }
  if (intent === DELETE_APPLICATION_INSTANCE) {
    if (!str(payload.name) || !str(payload.namespace)) {
      throw invalid("delete-application-instance needs name and namespace");
    }
    return requireSizes({
      kind: "ApplicationInstance",
      namespace: str(payload.namespace),
      name: str(payload.name),
    });
  }
  throw invalid(
    `intent must be one of ${ENSURE_APPLICATION_INSTANCE}, ${REQUEST_OPERATION}, ${DELETE_APPLICATION_INSTANCE}`,
  );
}

/** apply and delete carry their apiVersion along, for the scope check. */
const apiVersionOf = (payload: JsonObject) => ({ apiVersion: str(payload.apiVersion) });

type Policy = Pick<Cluster, "allowedNamespaces" | "allowedCatalogEntries" | "allowedOperationTemplates">;

const namespaceRefused = (cluster: Policy, namespace: string) =>
  forbidden("namespace_not_allowed", namespaceRefusal(cluster, namespace));

/**
 * 403 when the cluster's allow-lists do not cover the scope; nothing when they do. `catalogChart`
 * is the chart of the scope's catalog entry (looked up by the caller), to hold `spec.chart` to.
 */
export function requireRawJobAllowed(
  cluster: Policy,
  scope: RawJobScope,
  catalogChart?: ChartRef | null,
): void {
  if (scope.apiVersion !== undefined) {
    if (isNamespaceObject(scope.apiVersion, scope.kind)) {
      // A Namespace is cluster-scoped; its name is what the allow-list speaks of.
      if (scope.namespace) throw invalid("a Namespace has no metadata.namespace");
      if (!namespaceAllowed(cluster, scope.name)) throw namespaceRefused(cluster, scope.name);
      return;
    }
    if (!isNamespacedKind(scope.apiVersion, scope.kind)) {
      throw forbidden(
        "kind_not_allowed",
        `${scope.apiVersion} ${scope.kind} is not a namespaced kind raw jobs may act on: they act only inside the cluster's allowedNamespaces`,
      );
    }
    if (!scope.namespace) throw invalid(`a ${scope.kind} needs its namespace`);
  }
  if (!namespaceAllowed(cluster, scope.namespace)) throw namespaceRefused(cluster, scope.namespace);
  if (scope.catalogId !== undefined) {
    if (!catalogEntryAllowed(cluster, scope.catalogId)) {
      throw forbidden(
        "catalog_entry_not_allowed",
        `catalog entry "${scope.catalogId}" is not in the cluster's allowedCatalogEntries`,
      );
    }
    if (!catalogChart)
      throw badRequest("unknown_catalog_entry", `catalog entry "${scope.catalogId}" does not exist`);
    const chart = scope.chart;
    if (
      chart &&
      (chart.sourceType !== catalogChart.sourceType ||
        chart.url !== catalogChart.url ||
        chart.name !== catalogChart.name)
    ) {
      throw forbidden(
        "chart_not_in_catalog",
        `spec.chart must be the chart of catalog entry "${scope.catalogId}" (${catalogChart.sourceType} ${catalogChart.url} ${catalogChart.name})`,
      );
    }
  }
  if (scope.kind === "Operation" && scope.apiVersion === undefined) {
    if (!(scope.template && operationTemplateAllowed(cluster, scope.template))) {
      throw forbidden(
        "operation_template_not_allowed",
        scope.template
          ? `operation template "${scope.template}" is not in the cluster's allowedOperationTemplates`
          : "the operation's spec.type and spec.engine match no operation template",
      );
    }
  }
}

/**
 * The chart of the scope's catalog entry as the cluster's organization resolves it (null when
 * there is no such entry), if the scope names one.
 */
export async function catalogChartOf(
  db: Pick<Db, "catalogEntry" | "organizationCatalogEntry">,
  organizationId: string,
  scope: RawJobScope,
) {
  if (scope.catalogId === undefined) return undefined;
  const resolved = await resolveCatalogEntry(db, organizationId, scope.catalogId);
  return resolved ? (resolved.entry.chart as ChartRef) : null;
}
