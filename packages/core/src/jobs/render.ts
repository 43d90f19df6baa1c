import {
  APPLICATION_INSTANCE,
  type ChartRef,
  CLUSTER_ID_LABEL,
  DELETE_APPLICATION_INSTANCE,
  ENSURE_APPLICATION_INSTANCE,
  type JsonObject,
  MANAGED_BY_CONTROL_PLANE,
  MANAGED_BY_LABEL,
  OPERATION,
  REQUEST_OPERATION,
} from "@vwksp/protocol";

/** What the operator's Operation CRD accepts for each built-in template (type + engine). */
export const OPERATION_TEMPLATES: Record<string, { type: string; engine: string }> = {
  "backup.velero": { type: "Backup", engine: "velero" },
  "restore.velero": { type: "Restore", engine: "velero" },
  "upgrade.helm": { type: "Upgrade", engine: "helm" },
  "migration.helmHookJob": { type: "Migration", engine: "helmHookJob" },
  "runCommand.job": { type: "RunCommand", engine: "job" },
  "runbook.workflow": { type: "Runbook", engine: "workflow" },
};

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Request values over catalog defaults, objects merged key by key, anything else replaced. */
export function mergeValues(defaults: JsonObject, overrides: JsonObject): JsonObject {
  const merged: JsonObject = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const base = merged[key];
    merged[key] = isObject(base) && isObject(value) ? mergeValues(base, value) : value;
  }
  return merged;
}

const managedLabels = (clusterId: string) => ({
  [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE,
  [CLUSTER_ID_LABEL]: clusterId,
});

export interface DeployRequest {
  intent: typeof ENSURE_APPLICATION_INSTANCE;
  catalogId: string;
  namespace: string;
  name: string;
  hostname?: string | undefined;
  values?: JsonObject | undefined;
  chartVersion?: string | undefined;
  generation: number;
}

/** The `ensure-application-instance` intent carrying an ApplicationInstance (apps.vworkspace.io/v1alpha1). */
export function renderApplicationInstance(
  clusterId: string,
  request: DeployRequest,
  catalog: { chart: ChartRef; defaultValues: JsonObject },
) {
  return {
    intent: ENSURE_APPLICATION_INSTANCE,
    applicationInstance: {
      ...APPLICATION_INSTANCE,
      metadata: { name: request.name, namespace: request.namespace, labels: managedLabels(clusterId) },
      spec: {
        appRef: { catalogId: request.catalogId },
        chart: {
          sourceType: catalog.chart.sourceType,
          url: catalog.chart.url,
          name: catalog.chart.name,
          version: request.chartVersion ?? catalog.chart.version,
        },
        release: { name: request.name, namespace: request.namespace },
        values: { source: "inline", inline: mergeValues(catalog.defaultValues, request.values ?? {}) },
        ...(request.hostname ? { integrations: { ingress: { enabled: true, host: request.hostname } } } : {}),
      },
    },
  };
}

export interface OperationRequest {
  intent: typeof REQUEST_OPERATION;
  template: string;
  namespace: string;
  name: string;
  operationName: string;
  parameters?: JsonObject | undefined;
}

/** The `request-operation` intent carrying an Operation (ops.vworkspace.io/v1alpha1) on an app. */
export function renderOperation(clusterId: string, request: OperationRequest) {
  const template = OPERATION_TEMPLATES[request.template];
  if (!template) throw new Error(`unknown operation template ${request.template}`);
  return {
    intent: REQUEST_OPERATION,
    operation: {
      ...OPERATION,
      metadata: {
        name: request.operationName,
        namespace: request.namespace,
        labels: { ...managedLabels(clusterId), "ops.vworkspace.io/template": request.template },
      },
      spec: {
        targetRef: { ...APPLICATION_INSTANCE, name: request.name },
        type: template.type,
        engine: template.engine,
        ...(request.parameters ? { parameters: request.parameters } : {}),
      },
    },
  };
}

export interface DeleteRequest {
  intent: typeof DELETE_APPLICATION_INSTANCE;
  namespace: string;
  name: string;
  generation: number;
}

export const renderDeleteApplication = (request: DeleteRequest) => ({
  intent: DELETE_APPLICATION_INSTANCE,
  name: request.name,
  namespace: request.namespace,
});

export type IntentRequest = DeployRequest | OperationRequest | DeleteRequest;
