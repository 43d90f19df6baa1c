import { type ClusterClient, createClusterClient } from "../client/cluster-client.ts";
import { KubeStatusError, KubeTransportError } from "../client/kube-errors.ts";
import type { PushKubeconfig } from "../kubeconfig/types.ts";
import { APPLICATION_INSTANCES, CLUSTER_ACCESS, collectionPath, NAMESPACED_ACCESS } from "../resources.ts";
import { type AccessCheck, deniedAccess, describeAccess, requiredAccess } from "./access-review.ts";

export type ValidationFailureReason =
  | "Unreachable"
  | "TLSError"
  | "Unauthorized"
  | "Forbidden"
  | "CRDMissing";

export type ValidationResult =
  | { ok: true; kubernetesVersion: string }
  | {
      ok: false;
      reason: ValidationFailureReason;
      /** For the administrator: what failed, naming verb, resource and namespace where it applies. */
      message: string;
      /** With Forbidden from the access reviews: every permission that is missing. */
      missing?: AccessCheck[];
    };

export interface ValidationOptions {
  /** The cluster's allowed namespaces, as concrete names (RoleBindings cannot match globs). */
  namespaces: readonly string[];
  /** Per request: a hanging API server is `Unreachable` after this long. */
  timeoutMs?: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

class ValidationFailure extends Error {
  constructor(
    readonly reason: ValidationFailureReason,
    message: string,
    readonly missing?: AccessCheck[],
  ) {
    super(message);
  }
}

/** The reason a failed request gives, read the way the probe's steps need. */
function failureOf(error: unknown, step: string): ValidationFailure {
  if (error instanceof ValidationFailure) return error;
  if (error instanceof KubeTransportError) {
    return new ValidationFailure(error.reason === "TLSError" ? "TLSError" : "Unreachable", error.message);
  }
  if (error instanceof KubeStatusError) {
    if (error.statusCode === 401) {
      return new ValidationFailure(
        "Unauthorized",
        `the API server refused the credentials (401 Unauthorized) on ${step}: the token or client certificate is wrong, expired or revoked`,
      );
    }
    if (error.statusCode === 403) return new ValidationFailure("Forbidden", `${step}: ${error.message}`);
    // A list answers 404 only when its resource is not served (a missing namespace lists empty).
    if (error.statusCode === 404) return new ValidationFailure("CRDMissing", `${step}: ${error.message}`);
    return new ValidationFailure(
      "Unreachable",
      `${step}: the API server answered ${error.statusCode}: ${error.message}`,
    );
  }
  throw error;
}

/** The vWorkspace CRDs must be served: their groups and every resource push mode uses. */
async function requireCrds(client: ClusterClient) {
  const resources = [...NAMESPACED_ACCESS, ...CLUSTER_ACCESS].map(({ resource }) => resource);
  for (const groupVersion of [...new Set(resources.map((r) => `${r.group}/${r.version}`))]) {
    const wanted = resources.filter((r) => `${r.group}/${r.version}` === groupVersion).map((r) => r.plural);
    let served: string[];
    try {
      const document = (await client.http.getJson(`/apis/${groupVersion}`)) as {
        resources?: { name?: string }[];
      };
      served = (document.resources ?? []).map((resource) => resource.name ?? "");
    } catch (error) {
      if (error instanceof KubeStatusError && error.statusCode === 404) {
        throw new ValidationFailure(
          "CRDMissing",
          `the API server does not serve ${groupVersion}: the vWorkspace CRDs are not installed`,
        );
      }
      throw failureOf(error, `discovery of ${groupVersion}`);
    }
    const missing = wanted.filter((plural) => !served.includes(plural));
    if (missing.length > 0) {
      throw new ValidationFailure(
        "CRDMissing",
        `the API server serves ${groupVersion} without ${missing.join(", ")}: install the vWorkspace CRDs`,
      );
    }
  }
}

/** Lists ApplicationInstances in each namespace, the call the watches start with. */
async function requireList(client: ClusterClient, namespaces: readonly string[]) {
  for (const namespace of namespaces) {
    const path = collectionPath(APPLICATION_INSTANCES, namespace);
    await client.http.getJson(path, { limit: "1" }).catch((error: unknown) => {
      throw failureOf(error, `list applicationinstances.apps.vworkspace.io in namespace "${namespace}"`);
    });
  }
}

async function probe(client: ClusterClient, namespaces: readonly string[]): Promise<string> {
  const version = await client
    .call(() => client.versions.getCode())
    .catch((error: unknown) => {
      throw failureOf(error, "GET /version");
    });
  await requireCrds(client);
  const denied = await deniedAccess(client, requiredAccess(namespaces)).catch((error: unknown) => {
    throw failureOf(error, "SelfSubjectAccessReview");
  });
  if (denied.length > 0) {
    const shown = denied.slice(0, 5).map(describeAccess).join("; ");
    const more = denied.length > 5 ? ` (and ${denied.length - 5} more)` : "";
    throw new ValidationFailure("Forbidden", `the credential may not ${shown}${more}`, denied);
  }
  await requireList(client, namespaces);
  return version.gitVersion;
}

/**
 * Checks that push mode can work with this kubeconfig: /version, the vWorkspace CRDs, every
 * permission the executor and the watches use (SelfSubjectAccessReviews), and a real list of
 * ApplicationInstances in each namespace. Never throws for the cluster's own failures.
 */
export async function validateCluster(
  kubeconfig: PushKubeconfig,
  options: ValidationOptions,
): Promise<ValidationResult> {
  const invalid = options.namespaces.find((namespace) => !DNS_LABEL.test(namespace));
  if (invalid !== undefined) throw new TypeError(`"${invalid}" is not a namespace name`);
  const client = createClusterClient(kubeconfig, { requestTimeoutMs: options.timeoutMs ?? 5_000 });
  try {
    return { ok: true, kubernetesVersion: await probe(client, options.namespaces) };
  } catch (error) {
    const failure = failureOf(error, "validation");
    return {
      ok: false,
      reason: failure.reason,
      message: failure.message,
      ...(failure.missing ? { missing: failure.missing } : {}),
    };
  } finally {
    client.close();
  }
}
