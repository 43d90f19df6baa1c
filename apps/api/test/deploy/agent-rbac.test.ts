import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubernetesBackend } from "../../../../packages/agent/src/backends/kubernetes.ts";
import {
  createSecretStore,
  PROCESSED_KEYS_CONFIGMAP,
} from "../../../../packages/agent/src/credentials/secret-store.ts";
import { createKube, loadKubeConfig } from "../../../../packages/agent/src/kube/kube.ts";
import { executeJob } from "../../../../packages/agent/src/runtime/execute.ts";
import { type FakeKube, startFakeKube } from "../../../../packages/agent/test/support/fake-kube.ts";
import {
  agentJob,
  applicationInstance,
  CLUSTER_ID,
  configMap,
} from "../../../../packages/agent/test/support/jobs.ts";
import { NAMESPACED_KINDS } from "../../../../packages/core/src/jobs/raw-jobs.ts";
import { kustomize, type Manifest } from "./support/kustomize.ts";

// The agent's RBAC (deploy/kubernetes/agent/rbac.yaml) against what its Kubernetes backend and
// credential store really send: every request they make to a (fake) API server must be allowed,
// and the rules grant nothing beyond the kinds a job can carry and the verbs the backend uses.

const manifests = kustomize(fileURLToPath(new URL("../../../../deploy/kubernetes/agent", import.meta.url)));
type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
const rulesOf = (kind: string, name: string) =>
  (manifests.find((m) => m.kind === kind && m.metadata.name === name) as Manifest & { rules: Rule[] }).rules;
const clusterRules = rulesOf("ClusterRole", "vworkspace-agent");
const stateRules = rulesOf("Role", "vworkspace-agent-state");
const namespace = "vworkspace-system";

/** Kubernetes' plural resource names of the kinds a job may carry (lower case, -s or -es). */
const plural = (kind: string) =>
  kind === "Endpoints"
    ? "endpoints"
    : /(ss|ch|sh|x)$/.test(kind)
      ? `${kind.toLowerCase()}es`
      : kind.endsWith("y")
        ? `${kind.toLowerCase().slice(0, -1)}ies`
        : `${kind.toLowerCase()}s`;

interface Attributes {
  verb: string;
  group: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
}

/** A request path as the API server's authorizer sees it. */
function attributesOf(method: string, path: string, created: boolean): Attributes[] {
  const parts = path.split("/").filter(Boolean);
  const group = parts[0] === "api" ? "" : (parts[1] ?? "");
  const rest = parts.slice(parts[0] === "api" ? 2 : 3);
  const namespaced = rest[0] === "namespaces" && rest.length >= 3;
  const [resource = "", name] = namespaced ? [rest[2], rest[3]] : [rest[0], rest[1]];
  const base = { group, resource, namespace: namespaced ? rest[1] : undefined, name };
  const verb = { GET: "get", POST: "create", PATCH: "patch", DELETE: "delete" }[method] ?? method;
  // A server-side apply that creates the object is authorized as create as well.
  return created && verb === "patch"
    ? [
        { ...base, verb },
        { ...base, verb: "create" },
      ]
    : [{ ...base, verb }];
}

function allowed(request: Attributes): boolean {
  const matches = (rule: Rule) =>
    rule.apiGroups.includes(request.group) &&
    rule.resources.includes(request.resource) &&
    rule.verbs.includes(request.verb) &&
    (!rule.resourceNames || (request.name !== undefined && rule.resourceNames.includes(request.name)));
  return clusterRules.some(matches) || (request.namespace === namespace && stateRules.some(matches));
}

let fake: FakeKube;
let dir: string;

beforeAll(async () => {
  fake = await startFakeKube();
  dir = await mkdtemp(join(tmpdir(), "vwksp-rbac-"));
});

afterAll(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the agent's RBAC", () => {
  it("grants get, create, patch and delete on exactly the kinds a job can carry, and nothing else", () => {
    const granted = clusterRules.flatMap((rule) =>
      rule.apiGroups.flatMap((group) => rule.resources.map((resource) => `${group}/${resource}`)),
    );
    const carried = [
      ...Object.entries(NAMESPACED_KINDS).flatMap(([group, kinds]) =>
        kinds.map((kind) => `${group}/${plural(kind)}`),
      ),
      "/namespaces",
      "apps.vworkspace.io/applicationinstances",
      "ops.vworkspace.io/operations",
    ];
    expect(granted.sort()).toEqual(carried.sort());
    for (const rule of [...clusterRules, ...stateRules]) {
      expect(rule.verbs.every((verb) => ["get", "create", "patch", "delete"].includes(verb))).toBe(true);
      expect(rule.resources).not.toContain("*");
    }
    expect(stateRules).toEqual([
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["vworkspace-agent-credentials"],
        verbs: ["get", "patch"],
      },
      {
        apiGroups: [""],
        resources: ["configmaps"],
        resourceNames: [PROCESSED_KEYS_CONFIGMAP],
        verbs: ["get", "patch"],
      },
    ]);
    for (const binding of manifests.filter((m) => m.kind.endsWith("RoleBinding"))) {
      expect((binding as unknown as { subjects: unknown[] }).subjects).toEqual([
        { kind: "ServiceAccount", name: "vworkspace-agent", namespace },
      ]);
    }
  });

  it("allows every request the backend and the credential store make", async () => {
    const kube = createKube(loadKubeConfig(await fake.writeKubeconfig(dir)));
    fake.seed("v1", { kind: "Namespace", metadata: { name: namespace } });
    // As deploy/kubernetes/agent/state.yaml creates them before the agent runs.
    fake.seed("v1", { kind: "Secret", metadata: { name: "vworkspace-agent-credentials", namespace } });
    fake.seed("v1", { kind: "ConfigMap", metadata: { name: PROCESSED_KEYS_CONFIGMAP, namespace } });
    const store = createSecretStore(kube, namespace, "vworkspace-agent-credentials");
    await store.save({
      baseUrl: "https://cp.example",
      clusterId: CLUSTER_ID,
      token: `vwksp-agt-${"a".repeat(64)}`,
    });
    await store.load();
    const log = store.idempotency(CLUSTER_ID);
    await log.record("job-1");
    await log.has("job-1");

    const backend = createKubernetesBackend(kube, CLUSTER_ID);
    await executeJob(agentJob("apply", configMap("org-a", "settings")), backend, CLUSTER_ID);
    await executeJob(
      agentJob("intent", {
        intent: "ensure-application-instance",
        applicationInstance: applicationInstance("org-a", "vault"),
      }),
      backend,
      CLUSTER_ID,
    );
    await executeJob(
      agentJob("delete", { apiVersion: "v1", kind: "ConfigMap", namespace: "org-a", name: "settings" }),
      backend,
      CLUSTER_ID,
    );
    await backend.version();

    const seen = new Set<string>();
    const api = fake.requests.filter(
      (request) => request.path !== "/version" && !/^\/apis?(\/[^/]+){0,2}$/.test(request.path),
    );
    expect(api.length).toBeGreaterThan(5);
    for (const request of api) {
      const created = request.method === "PATCH" && !seen.has(request.path);
      seen.add(request.path);
      for (const attributes of attributesOf(request.method, request.path, created)) {
        expect(allowed(attributes), `${request.method} ${request.path} (${attributes.verb})`).toBe(true);
      }
    }
  });
});
