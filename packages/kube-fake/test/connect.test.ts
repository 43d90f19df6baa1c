import { VersionApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { clientsFor, refusal } from "./support/clients.ts";
import { rawGet } from "./support/raw-get.ts";

let fake: KubeFake;

beforeAll(async () => {
  fake = await startKubeFake({ gitVersion: "v1.30.7", omitGroups: ["helm.toolkit.fluxcd.io"] });
});
afterAll(() => fake?.close());

const get = (path: string, options: { ca?: string; token?: string }) => rawGet(`${fake.url}${path}`, options);

describe("connecting like a real client", () => {
  it("hands out a kubeconfig with inline CA data, an https server and a token", () => {
    const config = parse(fake.kubeconfigYaml({ namespace: "org-a" }));
    expect(config).toMatchObject({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "kube-fake",
      clusters: [{ name: "kube-fake", cluster: { server: fake.url } }],
      users: [{ name: "kube-fake", user: { token: fake.token } }],
      contexts: [
        { name: "kube-fake", context: { cluster: "kube-fake", user: "kube-fake", namespace: "org-a" } },
      ],
    });
    expect(fake.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const caData = config.clusters[0].cluster["certificate-authority-data"];
    expect(Buffer.from(caData, "base64").toString()).toBe(fake.caCert);
    expect(fake.caCert).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it("serves a certificate that only its CA vouches for", async () => {
    await expect(get("/version", { token: fake.token })).rejects.toThrow(/self.signed|unable to verify/i);
    expect(await get("/version", { ca: fake.caCert, token: fake.token })).toMatchObject({
      code: 200,
      body: { major: "1", minor: "30", gitVersion: "v1.30.7", platform: "linux/amd64" },
    });
  });

  it("answers /version through client-node with the configured gitVersion", async () => {
    const versions = clientsFor(fake).config.makeApiClient(VersionApi);
    expect((await versions.getCode()).gitVersion).toBe("v1.30.7");
  });

  it("refuses a wrong token (or none) with the API server's 401 Status", async () => {
    const expected = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    };
    expect(await get("/api/v1/namespaces", { ca: fake.caCert, token: "wrong" })).toEqual({
      code: 401,
      body: expected,
    });
    expect((await get("/version", { ca: fake.caCert })).code).toBe(401);
    const { objects } = clientsFor(fake, { token: "not-the-token" });
    expect(await refusal(objects.list("v1", "Namespace"))).toEqual({ code: 401, status: expected });
  });

  it("serves discovery for the core group, the groups and their resources", async () => {
    const ca = fake.caCert;
    const token = fake.token;
    expect((await get("/api", { ca, token })).body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const groups = (await get("/apis", { ca, token })).body as { groups: { name: string }[] };
    expect(groups.groups.map((group) => group.name)).toEqual([
      "apps",
      "rbac.authorization.k8s.io",
      "authorization.k8s.io",
      "apps.vworkspace.io",
      "ops.vworkspace.io",
    ]);
    expect((await get("/apis/ops.vworkspace.io", { ca, token })).body).toEqual({
      kind: "APIGroup",
      apiVersion: "v1",
      name: "ops.vworkspace.io",
      versions: [{ groupVersion: "ops.vworkspace.io/v1alpha1", version: "v1alpha1" }],
      preferredVersion: { groupVersion: "ops.vworkspace.io/v1alpha1", version: "v1alpha1" },
    });
    const ops = (await get("/apis/ops.vworkspace.io/v1alpha1", { ca, token })).body;
    expect(ops).toMatchObject({
      kind: "APIResourceList",
      groupVersion: "ops.vworkspace.io/v1alpha1",
      resources: [
        { name: "operations", kind: "Operation", namespaced: true, shortNames: ["op"] },
        { name: "operations/status", verbs: ["get", "patch", "update"] },
        { name: "clusters", kind: "Cluster", namespaced: false },
        { name: "clusters/status", namespaced: false },
      ],
    });
    const core = (await get("/api/v1", { ca, token })).body as { resources: { name: string }[] };
    expect(core.resources.map((resource) => resource.name)).toEqual([
      "namespaces",
      "namespaces/status",
      "configmaps",
      "secrets",
      "serviceaccounts",
    ]);
  });

  it("does not serve a group a test left out: 404 like a cluster without that CRD", async () => {
    const missing = await get("/apis/helm.toolkit.fluxcd.io/v2", { ca: fake.caCert, token: fake.token });
    expect(missing).toEqual({
      code: 404,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server could not find the requested resource",
        reason: "NotFound",
        details: {},
        code: 404,
      },
    });
  });
});
