import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import {
  applicationInstance,
  clientsFor,
  failure,
  instanceRef,
  refusal,
  vaultSpec,
} from "./support/clients.ts";

let fake: KubeFake;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a"] });
  clients = clientsFor(fake);
});
afterAll(() => fake?.close());

const configMap = (name: string, data: Record<string, string>, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "org-a", ...(labels ? { labels } : {}) },
  data,
});

describe("objects with Kubernetes semantics", () => {
  it("creates, then refuses a second create with 409 AlreadyExists", async () => {
    const created: KubernetesObject = await clients.objects.create(configMap("settings", { a: "1" }));
    expect(created.metadata).toMatchObject({ name: "settings", resourceVersion: fake.resourceVersion() });
    // ConfigMaps have no generation on a real API server; custom resources do.
    expect(created.metadata?.generation).toBeUndefined();
    expect(await refusal(clients.objects.create(configMap("settings", { a: "1" })))).toEqual(
      failure(409, "AlreadyExists", 'configmaps "settings" already exists', {
        name: "settings",
        kind: "configmaps",
      }),
    );
  });

  it("answers 404 NotFound Status objects naming the group of a custom resource", async () => {
    const read = clients.objects.read(applicationInstance("org-a", "nope", {}));
    expect(await refusal(read)).toEqual(
      failure(404, "NotFound", 'applicationinstances.apps.vworkspace.io "nope" not found', {
        name: "nope",
        group: "apps.vworkspace.io",
        kind: "applicationinstances",
      }),
    );
  });

  it("refuses an invalid name with 422 Invalid naming the kind and the field", async () => {
    const result = await refusal(clients.objects.create(configMap("Bad_Name", {})));
    expect(result.code).toBe(422);
    expect(result.status).toMatchObject({
      reason: "Invalid",
      message: expect.stringMatching(
        /^ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
      ),
      details: {
        name: "Bad_Name",
        kind: "ConfigMap",
        causes: [{ reason: "FieldValueInvalid", field: "metadata.name" }],
      },
    });
  });

  it("merge-patches and JSON-patches, and refuses strategic merge on a custom resource (415)", async () => {
    const merged = await clients.objects.patch(
      {
        ...configMap("settings", { b: "2" }),
        metadata: { name: "settings", namespace: "org-a", labels: { x: "y" } },
      },
      undefined,
      undefined,
      "tester",
      undefined,
      PatchStrategy.MergePatch,
    );
    expect(merged.metadata?.labels).toEqual({ x: "y" });
    expect((merged as { data?: unknown }).data).toEqual({ a: "1", b: "2" });
    // The typed client sends its patches as application/json-patch+json.
    const patched = await clients.core.patchNamespacedConfigMap({
      name: "settings",
      namespace: "org-a",
      body: [
        { op: "test", path: "/data/a", value: "1" },
        { op: "replace", path: "/data/a", value: "3" },
        { op: "remove", path: "/data/b" },
      ],
    });
    expect(patched.data).toEqual({ a: "3" });
    expect(fake.requests.at(-1)?.contentType).toBe("application/json-patch+json");
    const failedTest = clients.core.patchNamespacedConfigMap({
      name: "settings",
      namespace: "org-a",
      body: [{ op: "test", path: "/data/a", value: "1" }],
    });
    await expect(failedTest).rejects.toMatchObject({ code: 422 });
    expect(
      fake.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "org-a", name: "settings" })?.data,
    ).toEqual({
      a: "3",
    });
    await clients.apply(applicationInstance("org-a", "vault", vaultSpec()), "vworkspace-control-plane");
    const strategic = await refusal(
      clients.objects.patch(applicationInstance("org-a", "vault", { appRef: { catalogId: "gitea" } })),
    );
    expect(strategic.code).toBe(415);
    expect(strategic.status.message).toBe(
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
  });

  it("refuses a replace from a stale resourceVersion with 409 Conflict", async () => {
    const live = await clients.objects.read(configMap("settings", {}));
    await clients.objects.replace({ ...live, data: { a: "4" } } as typeof live);
    const stale = await refusal(clients.objects.replace({ ...live, data: { a: "5" } } as typeof live));
    expect(stale).toEqual(
      failure(
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again',
        { name: "settings", kind: "configmaps" },
      ),
    );
  });

  it("lists with a resourceVersion, label and field selectors, per namespace and across them", async () => {
    await clients.objects.create(configMap("labelled", { a: "1" }, { tier: "web" }));
    const list = await clients.objects.list(
      "v1",
      "ConfigMap",
      "org-a",
      undefined,
      undefined,
      undefined,
      undefined,
      "tier in (web,db)",
    );
    expect(list.items.map((item) => item.metadata?.name)).toEqual(["labelled"]);
    expect(list.metadata?.resourceVersion).toBe(fake.resourceVersion());
    const byName = await clients.objects.list(
      "v1",
      "ConfigMap",
      undefined,
      undefined,
      undefined,
      undefined,
      "metadata.name=settings",
    );
    expect(byName.items.map((item) => `${item.metadata?.namespace}/${item.metadata?.name}`)).toEqual([
      "org-a/settings",
    ]);
    const unsupported = await refusal(
      clients.objects.list("v1", "ConfigMap", "org-a", undefined, undefined, undefined, "data.a=1"),
    );
    expect(unsupported).toEqual(failure(400, "BadRequest", "field label not supported: data.a"));
  });

  it("deletes: a Status for built-in kinds, the object for custom resources, finalizers hold it", async () => {
    const uid = fake.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "org-a", name: "labelled" })
      ?.metadata.uid;
    const deleted = await clients.objects.delete(configMap("labelled", {}));
    expect(deleted).toMatchObject({
      status: "Success",
      details: { name: "labelled", kind: "configmaps", uid },
    });

    const ref = instanceRef("org-a", "vault");
    fake.put({
      ...applicationInstance("org-a", "vault", vaultSpec()),
      metadata: { name: "vault", namespace: "org-a", finalizers: ["apps.vworkspace.io/finalizer"] },
    });
    const terminating = await clients.objects.delete(applicationInstance("org-a", "vault", {}));
    // client-node reads the answer as a V1Status; its kind shows the object came back.
    expect(terminating.kind).toBe("ApplicationInstance");
    expect(fake.get(ref)?.metadata.deletionTimestamp).toBeDefined();
    // The operator removes its finalizer once cleanup is done; then the object is gone.
    const live = fake.get(ref);
    if (!live) throw new Error("the object should still be there");
    fake.put({ ...live, metadata: { ...live.metadata, finalizers: [] } }, "vworkspace-operator");
    expect(fake.get(ref)).toBeUndefined();
  });

  it("turns Secret stringData into base64 data and defaults the type to Opaque", async () => {
    const secret = await clients.core.createNamespacedSecret({
      namespace: "org-a",
      body: { metadata: { name: "token" }, stringData: { token: "s3cret" } },
    });
    expect(secret.type).toBe("Opaque");
    expect(secret.data).toEqual({ token: Buffer.from("s3cret").toString("base64") });
    expect(secret.stringData).toBeUndefined();
  });

  it("creates namespaces with the kubernetes.io/metadata.name label and phase Active", async () => {
    const namespace = await clients.core.createNamespace({ body: { metadata: { name: "org-b" } } });
    expect(namespace.metadata?.labels).toEqual({ "kubernetes.io/metadata.name": "org-b" });
    expect(namespace.status?.phase).toBe("Active");
  });
});
