import {
  type AgentJob,
  APPLICATION_INSTANCE,
  CLUSTER_ID_LABEL,
  DELETE_APPLICATION_INSTANCE,
  DeleteJobPayload,
  ENSURE_APPLICATION_INSTANCE,
  JOB_INTENTS,
  JobManifest,
  MANAGED_BY_CONTROL_PLANE,
  MANAGED_BY_LABEL,
  type ObjectRef,
  OPERATION,
  REQUEST_OPERATION,
} from "@vwksp/protocol";
import { z } from "zod";
import type { ClusterBackend } from "../backends/backend.ts";
import { InvalidJobError } from "../errors.ts";
import type { KubeObject, KubeRef } from "../kube/kube.ts";

const Intent = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal(ENSURE_APPLICATION_INSTANCE), applicationInstance: JobManifest }),
  z.object({ intent: z.literal(REQUEST_OPERATION), operation: JobManifest }),
  z.object({
    intent: z.literal(DELETE_APPLICATION_INSTANCE),
    name: z.string().min(1),
    namespace: z.string().optional(),
  }),
]);

const INTENTS = new Set<string>(JOB_INTENTS);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new InvalidJobError(`${what}: ${z.prettifyError(parsed.error).replaceAll("\n", " ")}`);
  }
  return parsed.data;
}

function expectKind(object: KubeObject, expected: { apiVersion: string; kind: string }, intent: string) {
  if (object.apiVersion !== expected.apiVersion || object.kind !== expected.kind) {
    throw new InvalidJobError(
      `${intent} needs a ${expected.kind} (${expected.apiVersion}), got ${object.kind}`,
    );
  }
}

/** Every applied object says who manages it and for which cluster (as the Go applier does). */
function withManagedLabels(object: KubeObject, clusterId: string): KubeObject {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: {
        ...object.metadata.labels,
        [MANAGED_BY_LABEL]: MANAGED_BY_CONTROL_PLANE,
        [CLUSTER_ID_LABEL]: clusterId,
      },
    },
  };
}

/** Reads the object first, so the reference of a deleted object still carries its uid. */
async function removeObject(backend: ClusterBackend, ref: KubeRef): Promise<ObjectRef> {
  const existing = await backend.get(ref);
  await backend.remove(ref);
  const uid = existing?.metadata.uid;
  const generation = existing?.metadata.generation;
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    namespace: ref.namespace ?? "",
    name: ref.name,
    ...(uid ? { uid } : {}),
    ...(typeof generation === "number" ? { generation } : {}),
  };
}

/** Carries out one job on the cluster; answers the reference of what it touched. */
export async function executeJob(
  job: AgentJob,
  backend: ClusterBackend,
  clusterId: string,
): Promise<ObjectRef> {
  switch (job.kind) {
    case "apply": {
      const manifest = parse(JobManifest, job.payload, "apply payload") as KubeObject;
      return backend.apply(withManagedLabels(manifest, clusterId));
    }
    case "delete":
      return removeObject(backend, parse(DeleteJobPayload, job.payload, "delete payload"));
    case "intent": {
      const name = job.payload.intent;
      if (!INTENTS.has(String(name))) throw new InvalidJobError(`unsupported intent "${String(name)}"`);
      const intent = parse(Intent, job.payload, `${String(name)} payload`);
      switch (intent.intent) {
        case ENSURE_APPLICATION_INSTANCE: {
          const app = intent.applicationInstance as KubeObject;
          expectKind(app, APPLICATION_INSTANCE, intent.intent);
          return backend.apply(withManagedLabels(app, clusterId));
        }
        case REQUEST_OPERATION: {
          const operation = intent.operation as KubeObject;
          expectKind(operation, OPERATION, intent.intent);
          return backend.apply(withManagedLabels(operation, clusterId));
        }
        case DELETE_APPLICATION_INSTANCE:
          return removeObject(backend, {
            ...APPLICATION_INSTANCE,
            name: intent.name,
            namespace: intent.namespace,
          });
      }
    }
  }
  throw new InvalidJobError(`unsupported job kind "${String(job.kind)}"`);
}
