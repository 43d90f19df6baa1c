import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

// The part of kustomize that deploy/kubernetes uses, so the tests see the manifests as
// `kubectl apply -k` would without a kustomize binary: resources (files and directories),
// namespace, images, replicas, and JSON 6902 patches targeted by kind and name. Any other
// field of a kustomization.yaml fails the render, so the manifests cannot outgrow what is checked.

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  replicas?: { name: string; count: number }[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
}

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images", "replicas", "patches"]);
/** Kinds whose `spec.replicas` the `replicas` field sets. */
const SCALABLE = new Set(["Deployment", "StatefulSet", "ReplicaSet"]);
/** Kinds that live outside namespaces: kustomize's `namespace` leaves them alone. */
export const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

/** Every YAML document of a file, as objects. */
export function readManifests(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message}`);
    return document.toJS() as Manifest;
  });
}

function podSpecs(manifest: Manifest): Record<string, unknown>[] {
  const spec = manifest.spec as { template?: { spec?: Record<string, unknown> } } | undefined;
  return spec?.template?.spec ? [spec.template.spec] : [];
}

function applyImages(manifest: Manifest, images: NonNullable<Kustomization["images"]>) {
  for (const pod of podSpecs(manifest)) {
    for (const key of ["containers", "initContainers"]) {
      for (const container of (pod[key] as { image: string }[] | undefined) ?? []) {
        const [name, tag] = container.image.split(":");
        const image = images.find((candidate) => candidate.name === name);
        if (image) container.image = `${image.newName ?? name}:${image.newTag ?? tag ?? "latest"}`;
      }
    }
  }
}

/** RFC 6902 add, replace and remove on a JSON pointer (what the overlays' patches use). */
function applyJsonPatch(target: Manifest, operations: { op: string; path: string; value?: unknown }[]) {
  for (const { op, path, value } of operations) {
    const keys = path
      .split("/")
      .slice(1)
      .map((key) => key.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop();
    if (last === undefined) throw new Error(`patch path ${path}`);
    let parent: Record<string, unknown> = target;
    for (const key of keys) {
      const next = parent[key];
      if (typeof next !== "object" || next === null) throw new Error(`patch path ${path}: no ${key}`);
      parent = next as Record<string, unknown>;
    }
    if (op === "replace" && !(last in parent)) throw new Error(`replace ${path}: nothing there`);
    if (op === "add" || op === "replace") parent[last] = value;
    else if (op === "remove") delete parent[last];
    else throw new Error(`patch op ${op} is not supported here`);
  }
}

/** The manifests a kustomization directory renders to. */
export function kustomize(directory: string): Manifest[] {
  const file = join(directory, "kustomization.yaml");
  const [kustomization] = readManifests(file) as unknown as Kustomization[];
  if (!kustomization) throw new Error(`${file} is empty`);
  for (const key of Object.keys(kustomization)) {
    if (!SUPPORTED.has(key)) throw new Error(`${file}: "${key}" is not supported by the test renderer`);
  }
  const manifests = (kustomization.resources ?? []).flatMap((entry) => {
    const path = resolve(directory, entry);
    if (!existsSync(path)) throw new Error(`${file}: resource ${entry} does not exist`);
    return statSync(path).isDirectory() ? kustomize(path) : readManifests(path);
  });
  for (const manifest of manifests) {
    if (kustomization.namespace && !CLUSTER_SCOPED.has(manifest.kind))
      manifest.metadata.namespace = kustomization.namespace;
    if (kustomization.images) applyImages(manifest, kustomization.images);
    const scalable = SCALABLE.has(manifest.kind);
    const replicas =
      scalable && kustomization.replicas?.find((entry) => entry.name === manifest.metadata.name);
    if (replicas) (manifest.spec as { replicas: number }).replicas = replicas.count;
  }
  for (const { target, patch } of kustomization.patches ?? []) {
    const matches = manifests.filter((m) => m.kind === target.kind && m.metadata.name === target.name);
    if (matches.length !== 1)
      throw new Error(`${file}: patch target ${target.kind}/${target.name} not found once`);
    const [operations] = parseAllDocuments(patch).map((document) => document.toJS());
    applyJsonPatch(matches[0] as Manifest, operations as { op: string; path: string; value?: unknown }[]);
  }
  return manifests;
}

/** The kustomization directories under `root` (each one `kubectl apply -k` can take). */
export function kustomizations(root: string, under = "."): string[] {
  const directory = join(root, under);
  const found = existsSync(join(directory, "kustomization.yaml")) ? [under] : [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.isDirectory()) found.push(...kustomizations(root, join(under, entry.name)));
  }
  return found;
}
