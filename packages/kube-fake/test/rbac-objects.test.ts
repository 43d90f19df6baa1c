import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { clientsFor, refusal } from "./support/clients.ts";
import { eventually } from "./support/eventually.ts";

// RBAC as a real cluster decides it from the Roles, ClusterRoles and bindings stored in it, and
// ServiceAccount tokens as the token controller issues them into kubernetes.io/service-account-token
// Secrets: what an administrator applies is what a credential may do.

const SYSTEM = "vworkspace-system";
let fake: KubeFake;
let admin: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await startKubeFake({
    namespaces: [SYSTEM, "org-a", "org-b"],
    users: [{ token: "reader-token", username: "reader", groups: ["readers"], rules: [] }],
  });
  admin = clientsFor(fake);
});
afterAll(() => fake?.close());

const rbac = () => admin.config.makeApiClient(RbacAuthorizationV1Api);
const RBAC_GROUP = "rbac.authorization.k8s.io";
type Subject = { kind: string; name: string; namespace?: string; apiGroup?: string };
const user = (name: string): Subject => ({ kind: "User", name, apiGroup: RBAC_GROUP });
const group = (name: string): Subject => ({ kind: "Group", name, apiGroup: RBAC_GROUP });

/** A RoleBinding of a Role or ClusterRole to one subject. */
const bind = (
  namespace: string,
  name: string,
  role: { kind: "Role" | "ClusterRole"; name: string },
  subject: Subject,
) =>
  rbac().createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name }, roleRef: { apiGroup: RBAC_GROUP, ...role }, subjects: [subject] },
  });
const listConfigMaps = (token: string, namespace: string) =>
  clientsFor(fake, { token }).core.listNamespacedConfigMap({ namespace });

async function issueToken(name: string): Promise<string> {
  const core = admin.config.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace: SYSTEM, body: { metadata: { name } } });
  const created = await core.createNamespacedSecret({
    namespace: SYSTEM,
    body: {
      metadata: { name: `${name}-token`, annotations: { "kubernetes.io/service-account.name": name } },
      type: "kubernetes.io/service-account-token",
    },
  });
  // The controller fills the Secret after the create, as a real token controller does.
  expect(created.data?.token).toBeUndefined();
  return eventually(async () => {
    const secret = await core.readNamespacedSecret({ namespace: SYSTEM, name: `${name}-token` });
    expect(secret.data?.token).toBeDefined();
    expect(Buffer.from(secret.data?.["ca.crt"] ?? "", "base64").toString()).toBe(fake.caCert);
    expect(Buffer.from(secret.data?.namespace ?? "", "base64").toString()).toBe(SYSTEM);
    expect(secret.metadata?.annotations?.["kubernetes.io/service-account.uid"]).toBeDefined();
    return Buffer.from(secret.data?.token ?? "", "base64").toString();
  });
}

describe("RBAC from stored objects", () => {
  it("grants a Role through a RoleBinding in its namespace only", async () => {
    await expect(listConfigMaps("reader-token", "org-a")).rejects.toMatchObject({ code: 403 });
    await rbac().createNamespacedRole({
      namespace: "org-a",
      body: {
        metadata: { name: "config-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
      },
    });
    await bind("org-a", "config-reader", { kind: "Role", name: "config-reader" }, user("reader"));
    expect((await listConfigMaps("reader-token", "org-a")).items).toBeDefined();
    const elsewhere = await refusal(listConfigMaps("reader-token", "org-b"));
    expect(elsewhere.status.message).toBe(
      'configmaps is forbidden: User "reader" cannot list resource "configmaps" in API group "" in the namespace "org-b"',
    );
    await rbac().deleteNamespacedRoleBinding({ namespace: "org-a", name: "config-reader" });
    await expect(listConfigMaps("reader-token", "org-a")).rejects.toMatchObject({ code: 403 });
  });

  it("grants a ClusterRole everywhere through a ClusterRoleBinding to a group, in one namespace through a RoleBinding", async () => {
    await rbac().createClusterRole({
      body: {
        metadata: { name: "config-lister" },
        rules: [
          { apiGroups: [""], resources: ["configmaps"], verbs: ["list"] },
          { nonResourceURLs: ["/healthz"], verbs: ["get"] },
        ],
      },
    });
    await bind("org-b", "config-lister", { kind: "ClusterRole", name: "config-lister" }, group("readers"));
    expect((await listConfigMaps("reader-token", "org-b")).items).toBeDefined();
    await expect(listConfigMaps("reader-token", "org-a")).rejects.toMatchObject({ code: 403 });
    await rbac().createClusterRoleBinding({
      body: {
        metadata: { name: "config-lister" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "config-lister" },
        subjects: [{ kind: "Group", name: "readers", apiGroup: "rbac.authorization.k8s.io" }],
      },
    });
    expect((await listConfigMaps("reader-token", "org-a")).items).toBeDefined();
    await rbac().deleteClusterRoleBinding({ name: "config-lister" });
    await rbac().deleteNamespacedRoleBinding({ namespace: "org-b", name: "config-lister" });
  });

  it("answers SelfSubjectAccessReviews from the stored objects, and a binding to a missing role grants nothing", async () => {
    await bind("org-a", "dangling", { kind: "Role", name: "does-not-exist" }, user("reader"));
    const reviews = clientsFor(fake, { token: "reader-token" }).config.makeApiClient(AuthorizationV1Api);
    const review = (namespace: string) =>
      reviews.createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb: "list", resource: "configmaps", namespace } } },
      });
    expect((await review("org-a")).status?.allowed).toBe(false);
    await rbac().createNamespacedRole({
      namespace: "org-a",
      body: {
        metadata: { name: "does-not-exist" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list"] }],
      },
    });
    expect((await review("org-a")).status?.allowed).toBe(true);
    expect((await review("org-b")).status?.allowed).toBe(false);
  });
});

describe("ServiceAccount tokens", () => {
  it("authenticate as the ServiceAccount, get its bindings, and stop working when it is deleted", async () => {
    const token = await issueToken("control-plane");
    await expect(listConfigMaps(token, "org-a")).rejects.toMatchObject({
      code: 403,
      body: expect.stringContaining('User \\"system:serviceaccount:vworkspace-system:control-plane\\"'),
    });
    await bind(
      "org-a",
      "control-plane",
      { kind: "ClusterRole", name: "config-lister" },
      { kind: "ServiceAccount", name: "control-plane", namespace: SYSTEM },
    );
    expect((await listConfigMaps(token, "org-a")).items).toBeDefined();
    // A ServiceAccount subject without a namespace is one of the RoleBinding's own namespace.
    await expect(listConfigMaps(token, SYSTEM)).rejects.toMatchObject({ code: 403 });
    await bind(
      SYSTEM,
      "control-plane",
      { kind: "ClusterRole", name: "config-lister" },
      {
        kind: "ServiceAccount",
        name: "control-plane",
      },
    );
    expect((await listConfigMaps(token, SYSTEM)).items).toBeDefined();

    await admin.core.deleteNamespacedServiceAccount({ namespace: SYSTEM, name: "control-plane" });
    await expect(listConfigMaps(token, "org-a")).rejects.toMatchObject({ code: 401 });
    // A new ServiceAccount of the same name is another identity: the old token stays dead.
    await admin.core.createNamespacedServiceAccount({
      namespace: SYSTEM,
      body: { metadata: { name: "control-plane" } },
    });
    await expect(listConfigMaps(token, "org-a")).rejects.toMatchObject({ code: 401 });
  });

  it("fills a token Secret created before its ServiceAccount once the ServiceAccount exists", async () => {
    const core = admin.config.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: SYSTEM,
      body: {
        metadata: { name: "early-token", annotations: { "kubernetes.io/service-account.name": "early" } },
        type: "kubernetes.io/service-account-token",
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(
      (await core.readNamespacedSecret({ namespace: SYSTEM, name: "early-token" })).data,
    ).toBeUndefined();
    await core.createNamespacedServiceAccount({ namespace: SYSTEM, body: { metadata: { name: "early" } } });
    await eventually(async () => {
      const secret = await core.readNamespacedSecret({ namespace: SYSTEM, name: "early-token" });
      expect(secret.data?.token).toBeDefined();
    });
  });
});
