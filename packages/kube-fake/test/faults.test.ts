import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { applicationInstance, clientsFor, refusal, vaultSpec } from "./support/clients.ts";
import { eventually } from "./support/eventually.ts";
import { rawRequest } from "./support/raw-get.ts";

let fake: KubeFake;
let clients: ReturnType<typeof clientsFor>;
const SECRET_PATH = "/api/v1/namespaces/vworkspace-system/secrets/agent";

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a", "vworkspace-system"] });
  clients = clientsFor(fake);
});
afterAll(() => fake?.close());

const readSecret = () => clients.core.readNamespacedSecret({ name: "agent", namespace: "vworkspace-system" });
const readNamespace = () => clients.core.readNamespace({ name: "org-a" });

describe("trouble on demand", () => {
  it("answers a Status of the asked code on matching requests only, as many times as asked", async () => {
    fake.put({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "agent", namespace: "vworkspace-system" },
    });
    fake.fail({ method: "GET", path: SECRET_PATH, times: 2, respond: { code: 503 } });
    await expect(readNamespace()).resolves.toMatchObject({ metadata: { name: "org-a" } });
    await expect(readSecret()).rejects.toMatchObject({ code: 503 });
    const objects = clients.objects.read({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "agent", namespace: "vworkspace-system" },
    });
    expect(await refusal(objects)).toEqual({
      code: 503,
      status: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "fault injected: HTTP 503",
        reason: "ServiceUnavailable",
        code: 503,
      },
    });
    await expect(readSecret()).resolves.toMatchObject({ type: "Opaque" });
  });

  it("tells a client when to retry, as the API server does on 429 and 5xx", async () => {
    fake.fail({ method: "GET", path: SECRET_PATH, times: 1, respond: { code: 429, retryAfterSeconds: 2 } });
    const answer = await rawRequest(`${fake.url}${SECRET_PATH}`, { ca: fake.caCert, token: fake.token });
    expect(answer).toMatchObject({
      code: 429,
      headers: { "retry-after": "2" },
      body: {
        kind: "Status",
        reason: "TooManyRequests",
        details: { retryAfterSeconds: 2 },
        code: 429,
      },
    });
  });

  it("delays answers", async () => {
    const remove = fake.fail({ path: /\/namespaces\/org-a$/, delayMs: 1500 });
    const started = Date.now();
    await readNamespace();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1490);
    remove();
    const again = Date.now();
    await readNamespace();
    expect(Date.now() - again).toBeLessThan(1490);
  });

  it("never answers a hung request, and resets connections", async () => {
    fake.fail({ path: SECRET_PATH, times: 1, hang: true });
    let settled = false;
    // Settles only when stop() cuts the connection in a later test.
    readSecret().then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await eventually(() => expect(fake.requests.at(-1)?.path).toBe(SECRET_PATH));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(fake.requests.at(-1)?.code).toBeUndefined();
    fake.fail({ path: SECRET_PATH, times: 1, reset: true });
    await expect(readSecret()).rejects.toThrow(/socket hang up|ECONNRESET/);
    await expect(readSecret()).resolves.toBeDefined();
  });

  it("is unreachable while stopped and back on the same URL with the same objects", async () => {
    const before = fake.get({ apiVersion: "v1", kind: "Namespace", name: "org-a" })?.metadata.uid;
    await fake.stop();
    await expect(readNamespace()).rejects.toThrow(/ECONNREFUSED/);
    await fake.restart();
    expect((await readNamespace()).metadata?.uid).toBe(before);
  });

  it("records every request: method, path, query, content type, user, decoded body and answer", async () => {
    await clients.apply(applicationInstance("org-a", "vault", vaultSpec()), "vworkspace-control-plane");
    expect(fake.requests.at(-1)).toMatchObject({
      method: "PATCH",
      path: "/apis/apps.vworkspace.io/v1alpha1/namespaces/org-a/applicationinstances/vault",
      contentType: "application/apply-patch+yaml",
      authorization: `Bearer ${fake.token}`,
      user: "kubernetes-admin",
      body: { kind: "ApplicationInstance", spec: { appRef: { catalogId: "vaultwarden" } } },
      code: 201,
    });
    expect(fake.requests.at(-1)?.query.get("fieldManager")).toBe("vworkspace-control-plane");
  });
});
