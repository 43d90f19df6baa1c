import {
  AuthorizationV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUser, type KubeFake, startKubeFake } from "../src/index.ts";
import { applicationInstance, clientsFor, failure, refusal, vaultSpec } from "./support/clients.ts";

const controlPlane: FakeUser = {
  token: "control-plane-token",
  username: "system:serviceaccount:vworkspace-system:vworkspace-control-plane",
  rules: [
    {
      verbs: ["get", "list", "watch", "patch", "create", "delete"],
      apiGroups: ["apps.vworkspace.io"],
      resources: ["applicationinstances"],
      namespaces: ["org-a"],
    },
    { verbs: ["get", "list", "watch"], apiGroups: ["ops.vworkspace.io"], resources: ["clusters"] },
  ],
};

let fake: KubeFake;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a", "org-b"], users: [controlPlane] });
  clients = clientsFor(fake, { token: controlPlane.token });
});
afterAll(() => fake?.close());

const forbidden = (message: string, details: Record<string, string>) =>
  failure(403, "Forbidden", message, details);

describe("RBAC per token", () => {
  it("allows what the rules grant in their namespaces", async () => {
    const applied = await clients.apply(
      applicationInstance("org-a", "vault", vaultSpec()),
      "vworkspace-control-plane",
    );
    expect(applied.metadata?.uid).toBeDefined();
    const list = await clients.objects.list("apps.vworkspace.io/v1alpha1", "ApplicationInstance", "org-a");
    expect(list.items.map((item) => item.metadata?.name)).toEqual(["vault"]);
  });

  it("answers 403 Status objects worded like the API server's", async () => {
    const inOtherNamespace = clients.objects.list(
      "apps.vworkspace.io/v1alpha1",
      "ApplicationInstance",
      "org-b",
    );
    expect(await refusal(inOtherNamespace)).toEqual(
      forbidden(
        'applicationinstances.apps.vworkspace.io is forbidden: User "system:serviceaccount:vworkspace-system:vworkspace-control-plane" cannot list resource "applicationinstances" in API group "apps.vworkspace.io" in the namespace "org-b"',
        { group: "apps.vworkspace.io", kind: "applicationinstances" },
      ),
    );
    const named = clients.objects.read({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "token", namespace: "org-a" },
    });
    expect(await refusal(named)).toEqual(
      forbidden(
        'secrets "token" is forbidden: User "system:serviceaccount:vworkspace-system:vworkspace-control-plane" cannot get resource "secrets" in API group "" in the namespace "org-a"',
        { name: "token", kind: "secrets" },
      ),
    );
    const clusterWide = clients.objects.list("apps.vworkspace.io/v1alpha1", "ApplicationInstance");
    expect((await refusal(clusterWide)).status.message).toMatch(
      /cannot list resource "applicationinstances" in API group "apps\.vworkspace\.io" at the cluster scope$/,
    );
  });

  it("checks the status subresource separately from its resource", async () => {
    const statuses = clients.config.makeApiClient(CustomObjectsApi);
    const patchStatus = statuses.patchNamespacedCustomObjectStatus(
      {
        group: "apps.vworkspace.io",
        version: "v1alpha1",
        namespace: "org-a",
        plural: "applicationinstances",
        name: "vault",
        body: { status: { observedGeneration: 1 } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(await refusal(patchStatus)).toEqual(
      forbidden(
        'applicationinstances.apps.vworkspace.io "vault" is forbidden: User "system:serviceaccount:vworkspace-system:vworkspace-control-plane" cannot patch resource "applicationinstances/status" in API group "apps.vworkspace.io" in the namespace "org-a"',
        { name: "vault", group: "apps.vworkspace.io", kind: "applicationinstances" },
      ),
    );
  });

  it("needs create as well as patch when an apply creates the object", async () => {
    fake.setRules(controlPlane.token, [
      {
        verbs: ["patch", "get"],
        apiGroups: ["apps.vworkspace.io"],
        resources: ["applicationinstances"],
        namespaces: ["org-a"],
      },
    ]);
    const creating = await refusal(
      clients.apply(applicationInstance("org-a", "new-one", vaultSpec()), "vworkspace-control-plane"),
    );
    expect(creating.status.message).toBe(
      'applicationinstances.apps.vworkspace.io "new-one" is forbidden: User "system:serviceaccount:vworkspace-system:vworkspace-control-plane" cannot create resource "applicationinstances" in API group "apps.vworkspace.io" in the namespace "org-a"',
    );
    const updating = await clients.apply(
      applicationInstance("org-a", "vault", vaultSpec("9.9.9")),
      "vworkspace-control-plane",
    );
    expect(updating.metadata?.generation).toBe(2);
    fake.setRules(controlPlane.token, controlPlane.rules);
  });

  it("answers SelfSubjectAccessReviews from the same rules", async () => {
    const reviews = clients.config.makeApiClient(AuthorizationV1Api);
    const ask = (namespace: string, verb: string) =>
      reviews.createSelfSubjectAccessReview({
        body: {
          spec: {
            resourceAttributes: {
              namespace,
              verb,
              group: "apps.vworkspace.io",
              resource: "applicationinstances",
            },
          },
        },
      });
    expect((await ask("org-a", "list")).status?.allowed).toBe(true);
    expect((await ask("org-b", "list")).status).toEqual({ allowed: false });
    expect(fake.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      code: 201,
    });
  });
});
