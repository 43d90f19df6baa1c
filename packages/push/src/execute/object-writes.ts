import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import type { DeleteJobPayload, JobManifest, JobResultBody } from "@vwksp/protocol";
import type { ClusterClient } from "../client/cluster-client.ts";
import { KubeStatusError } from "../client/kube-errors.ts";
import { APPLICATION_INSTANCES, apiVersionOf } from "../resources.ts";
import { appliedRef, covers, managersOf, writableObject } from "./manifests.ts";
import { InvalidJobError } from "./payloads.ts";

/** A job's outcome before it is stamped with the time. */
export type Done = Omit<JobResultBody, "timestamp">;

const describeObject = (ref: { kind: string; namespace?: string | undefined; name: string }) =>
  `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;

function ignoreNotFound(error: unknown): undefined {
  if (error instanceof KubeStatusError && error.statusCode === 404) return undefined;
  throw error;
}

/** The writes jobs are made of, each answering the job's outcome; API failures are thrown. */
export function createObjectWrites({
  client,
  clusterId,
  fieldManager,
}: {
  client: ClusterClient;
  clusterId: string;
  fieldManager: string;
}) {
  const { objects } = client;

  /** Discovery, cached by client-node; a kind the API server does not serve fails the job. */
  async function discover(apiVersion: string, kind: string) {
    const resource = await client
      .call(() => objects.discover(apiVersion, kind))
      .catch((error: unknown) => {
        if (error instanceof KubeStatusError && error.statusCode === 404) return undefined;
        throw error;
      });
    if (!resource) throw new InvalidJobError(`the API server does not serve ${kind} in ${apiVersion}`);
    return resource;
  }

  /** Kind → resource through discovery; a namespaced kind needs its namespace spelled out. */
  async function resolve(apiVersion: string, kind: string, namespace: string | undefined) {
    const resource = await discover(apiVersion, kind);
    if (resource.namespaced && !namespace) {
      throw new InvalidJobError(`${kind} is namespaced: a namespace is required`);
    }
    return resource;
  }

  async function applyManifest(manifest: JobManifest): Promise<Done> {
    const resource = await resolve(manifest.apiVersion, manifest.kind, manifest.metadata.namespace);
    const body = writableObject(manifest, clusterId, resource.namespaced);
    const stored = await client.call(() =>
      objects.patch(
        body as KubernetesObject,
        undefined,
        undefined,
        fieldManager,
        undefined,
        PatchStrategy.ServerSideApply,
      ),
    );
    return { outcome: "succeeded", appliedRef: appliedRef({ ...manifest, ...manifest.metadata }, stored) };
  }

  /** Deleting what is already gone succeeds, as in the operator (its appliedRef then has no uid). */
  async function deleteObject(ref: DeleteJobPayload): Promise<Done> {
    await resolve(ref.apiVersion, ref.kind, ref.namespace);
    const header = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
    };
    await client.call(() => objects.delete(header)).catch(ignoreNotFound);
    return { outcome: "succeeded", appliedRef: appliedRef(ref) };
  }

  /** The operator reads first, so the result names the uid and generation of what it deleted. */
  async function deleteApplicationInstance(namespace: string, name: string): Promise<Done> {
    const header = {
      apiVersion: apiVersionOf(APPLICATION_INSTANCES),
      kind: APPLICATION_INSTANCES.kind,
      metadata: { name, namespace },
    };
    const existing = await client.call(() => objects.read(header)).catch(ignoreNotFound);
    const ref = appliedRef({ ...header, ...header.metadata }, existing);
    if (!existing) return { outcome: "succeeded", appliedRef: ref };
    await client.call(() => objects.delete(header)).catch(ignoreNotFound);
    return { outcome: "succeeded", appliedRef: ref };
  }

  /**
   * Creates the Operation. One that exists with the requested spec is the same request again
   * (`noop`); one with another spec is someone else's (`conflict`): an Operation is a one-shot
   * request, never re-applied over one that may be running.
   */
  async function requestOperation(operation: JobManifest): Promise<Done> {
    const body = writableObject(operation, clusterId, true);
    const ref = { ...operation, ...operation.metadata };
    try {
      const created = await client.call(() =>
        objects.create(body as KubernetesObject, undefined, undefined, fieldManager),
      );
      return { outcome: "succeeded", appliedRef: appliedRef(ref, created) };
    } catch (error) {
      if (!(error instanceof KubeStatusError && error.reason === "AlreadyExists")) throw error;
    }
    const existing = (await client.call(() =>
      objects.read({ ...body, metadata: { ...body.metadata } }),
    )) as KubernetesObject & {
      spec?: unknown;
    };
    if (covers(operation.spec ?? {}, existing.spec ?? {})) {
      return { outcome: "noop", appliedRef: appliedRef(ref, existing) };
    }
    const managers = managersOf(existing).map((manager) => `"${manager}"`);
    return {
      outcome: "conflict",
      error: `${describeObject(ref)} already exists with a different spec${managers.length ? ` (written by ${managers.join(", ")})` : ""}`,
      appliedRef: appliedRef(ref, existing),
    };
  }

  return { applyManifest, deleteObject, deleteApplicationInstance, requestOperation };
}
