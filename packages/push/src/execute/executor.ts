import {
  type AgentJob,
  DELETE_APPLICATION_INSTANCE,
  DeleteJobPayload,
  ENSURE_APPLICATION_INSTANCE,
  JOB_INTENTS,
  JobManifest,
  type JobResultBody,
  REQUEST_OPERATION,
} from "@vwksp/protocol";
import type { ClusterClient } from "../client/cluster-client.ts";
import { APPLICATION_INSTANCES, apiVersionOf, OPERATIONS, type VworkspaceResource } from "../resources.ts";
import { createObjectWrites, type Done } from "./object-writes.ts";
import { settleFailure } from "./outcome.ts";
import { IntentPayload, InvalidJobError, parsePayload } from "./payloads.ts";

/** The field manager of everything push mode writes (the pull-mode agent's is `vworkspace-agent`). */
export const PUSH_FIELD_MANAGER = "vworkspace-control-plane";

/** A job as the pipeline holds it; an AgentJob fits. */
export type PushJob = Pick<AgentJob, "kind" | "payload"> & { expiresAt?: string };

export interface PushExecutorDeps {
  client: ClusterClient;
  /** The control plane's id of the cluster: the `app.vworkspace.io/cluster-id` label's value. */
  clusterId: string;
  clock?: { now(): Date };
  fieldManager?: string;
}

/**
 * Carries out jobs on a push cluster with the operator's semantics (internal/agent/applier.go),
 * as field manager `vworkspace-control-plane`, without forcing ownership. Resolves with the
 * protocol's result (`succeeded`, `noop`, `failed`, `conflict`); throws PushRetryableError when
 * the job should be tried again later.
 */
export function createPushExecutor({
  client,
  clusterId,
  clock = { now: () => new Date() },
  fieldManager = PUSH_FIELD_MANAGER,
}: PushExecutorDeps) {
  const { applyManifest, deleteObject, deleteApplicationInstance, requestOperation } = createObjectWrites({
    client,
    clusterId,
    fieldManager,
  });

  function expectKind(manifest: JobManifest, resource: VworkspaceResource, intent: string) {
    if (manifest.apiVersion !== apiVersionOf(resource) || manifest.kind !== resource.kind) {
      throw new InvalidJobError(
        `${intent} needs a ${resource.kind} (${apiVersionOf(resource)}), got ${manifest.kind} (${manifest.apiVersion})`,
      );
    }
    if (!manifest.metadata.namespace) throw new InvalidJobError(`${intent}: metadata.namespace is required`);
  }

  async function perform(job: PushJob): Promise<Done> {
    switch (job.kind) {
      case "apply":
        return applyManifest(parsePayload(JobManifest, job.payload, "apply payload"));
      case "delete":
        return deleteObject(parsePayload(DeleteJobPayload, job.payload, "delete payload"));
      case "intent": {
        const name = String(job.payload.intent);
        if (!(JOB_INTENTS as readonly string[]).includes(name))
          throw new InvalidJobError(`unsupported intent "${name}"`);
        const intent = parsePayload(IntentPayload, job.payload, `${name} payload`);
        switch (intent.intent) {
          case ENSURE_APPLICATION_INSTANCE:
            expectKind(intent.applicationInstance, APPLICATION_INSTANCES, intent.intent);
            return applyManifest(intent.applicationInstance);
          case REQUEST_OPERATION:
            expectKind(intent.operation, OPERATIONS, intent.intent);
            return requestOperation(intent.operation);
          case DELETE_APPLICATION_INSTANCE:
            return deleteApplicationInstance(intent.namespace, intent.name);
        }
      }
    }
    throw new InvalidJobError(`unsupported job kind "${String(job.kind)}"`);
  }

  return {
    /**
     * One job, start to end. An expired job is `noop` with error "expired", as the operator
     * answers it. Idempotency across deliveries is the pipeline's: every kind is safe to repeat.
     */
    async execute(job: PushJob): Promise<JobResultBody> {
      const timestamp = clock.now().toISOString();
      if (job.expiresAt && clock.now().getTime() > Date.parse(job.expiresAt)) {
        return { outcome: "noop", error: "expired", timestamp };
      }
      try {
        return { ...(await perform(job)), timestamp };
      } catch (error) {
        return settleFailure(error, timestamp);
      }
    },
  };
}

export type PushExecutor = ReturnType<typeof createPushExecutor>;
