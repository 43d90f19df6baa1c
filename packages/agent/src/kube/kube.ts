import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
} from "@kubernetes/client-node";
import { ApplyConflictError } from "../errors.ts";

/** The field manager of every object the agent applies (the Go operator's). */
export const FIELD_MANAGER = "vworkspace-agent";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    labels?: Record<string, string>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface KubeRef {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
}

/** A Kubernetes API answer that is not a success, with the `Status` it carried. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly status: number | undefined,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** An explicit kubeconfig file, else the usual chain: $KUBECONFIG, ~/.kube/config, in-cluster. */
export function loadKubeConfig(path?: string): KubeConfig {
  const config = new KubeConfig();
  if (path) config.loadFromFile(path);
  else config.loadFromDefault();
  return config;
}

function toKubeError(error: unknown, what: string): Error {
  if (!(error instanceof ApiException)) {
    return new KubeApiError(
      undefined,
      undefined,
      `${what}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const code = error.code as number;
  let status: { reason?: string; message?: string } = {};
  try {
    status = typeof error.body === "string" ? JSON.parse(error.body) : (error.body ?? {});
  } catch {
    // A proxy's HTML error page: the code alone has to do.
  }
  const message = `${what}: ${status.message ?? `HTTP ${code}`}`;
  if (code === 409 && what.startsWith("apply")) return new ApplyConflictError(message);
  return new KubeApiError(code, status.reason, message);
}

const describe = (ref: KubeRef) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
const header = (ref: KubeRef): KubernetesObject & { metadata: { name: string } } => ({
  apiVersion: ref.apiVersion,
  kind: ref.kind,
  metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
});

/** The client sets no timeout of its own; a hung API server must not hang a job forever. */
export const KUBE_CALL_TIMEOUT_MS = 60_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the API server in ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The few calls the agent makes, over @kubernetes/client-node (discovery resolves CRDs too). */
export function createKube(config: KubeConfig, timeoutMs = KUBE_CALL_TIMEOUT_MS) {
  const objects = KubernetesObjectApi.makeApiClient(config);
  const core = config.makeApiClient(CoreV1Api);
  const versions = config.makeApiClient(VersionApi);

  return {
    /** Server-side apply with forced ownership; returns the object as stored. */
    async apply(object: KubeObject): Promise<KubeObject> {
      try {
        // The client mutates and re-serializes its argument; give it a copy.
        const copy = structuredClone(object) as KubernetesObject;
        const stored = await withTimeout(
          objects.patch(copy, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
          timeoutMs,
        );
        return stored as unknown as KubeObject;
      } catch (error) {
        throw toKubeError(error, `apply ${describe({ ...object, ...object.metadata })}`);
      }
    },

    async get(ref: KubeRef): Promise<KubeObject | undefined> {
      try {
        return (await withTimeout(objects.read(header(ref)), timeoutMs)) as unknown as KubeObject;
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return undefined;
        throw toKubeError(error, `get ${describe(ref)}`);
      }
    },

    /** False when there was nothing to delete. */
    async remove(ref: KubeRef): Promise<boolean> {
      try {
        await withTimeout(objects.delete(header(ref)), timeoutMs);
        return true;
      } catch (error) {
        if (error instanceof ApiException && error.code === 404) return false;
        throw toKubeError(error, `delete ${describe(ref)}`);
      }
    },

    /** Creates the namespace when missing; one created concurrently (409) is as good. */
    async ensureNamespace(name: string, labels: Record<string, string>): Promise<"exists" | "created"> {
      try {
        await withTimeout(core.readNamespace({ name }), timeoutMs);
        return "exists";
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 404)) {
          throw toKubeError(error, `get Namespace ${name}`);
        }
      }
      try {
        await withTimeout(core.createNamespace({ body: { metadata: { name, labels } } }), timeoutMs);
        return "created";
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) return "exists";
        throw toKubeError(error, `create Namespace ${name}`);
      }
    },

    async serverVersion(): Promise<string> {
      try {
        return (await withTimeout(versions.getCode(), timeoutMs)).gitVersion;
      } catch (error) {
        throw toKubeError(error, "get server version");
      }
    },
  };
}

export type Kube = ReturnType<typeof createKube>;
