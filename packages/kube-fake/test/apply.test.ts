import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeFake, startKubeFake } from "../src/index.ts";
import { applicationInstance, clientsFor, instanceRef, refusal, vaultSpec } from "./support/clients.ts";

let fake: KubeFake;
let clients: ReturnType<typeof clientsFor>;
const MANAGER = "vworkspace-control-plane";

beforeAll(async () => {
  fake = await startKubeFake({ namespaces: ["org-a"] });
  clients = clientsFor(fake);
});
afterAll(() => fake?.close());

describe("server-side apply", () => {
  it("creates with uid, generation 1, a global resourceVersion and an Apply entry for the manager", async () => {
    const before = Number(fake.resourceVersion());
    const created = await clients.apply(applicationInstance("org-a", "vault", vaultSpec()), MANAGER);
    expect(created.metadata).toMatchObject({
      name: "vault",
      namespace: "org-a",
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      generation: 1,
      resourceVersion: String(before + 1),
      creationTimestamp: expect.any(Date),
    });
    expect(fake.get(instanceRef("org-a", "vault"))?.metadata.creationTimestamp).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(created.metadata?.managedFields).toEqual([
      {
        manager: MANAGER,
        operation: "Apply",
        apiVersion: "apps.vworkspace.io/v1alpha1",
        time: expect.any(Date),
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:spec": {
            "f:appRef": { "f:catalogId": {} },
            "f:chart": { "f:name": {}, "f:sourceType": {}, "f:url": {}, "f:version": {} },
            "f:release": { "f:name": {}, "f:namespace": {} },
            "f:values": { "f:inline": {}, "f:source": {} },
          },
        },
      },
    ]);
    expect(fake.requests.at(-1)).toMatchObject({ method: "PATCH", code: 201, user: "kubernetes-admin" });
  });

  it("leaves generation and resourceVersion alone when nothing changed (a no-op)", async () => {
    const live = fake.get(instanceRef("org-a", "vault"));
    const again = await clients.apply(applicationInstance("org-a", "vault", vaultSpec()), MANAGER);
    expect(again.metadata?.resourceVersion).toBe(live?.metadata.resourceVersion);
    expect(again.metadata?.generation).toBe(1);
    expect(fake.requests.at(-1)?.code).toBe(200);
  });

  it("bumps generation on a spec change but not on a label change", async () => {
    const changed = await clients.apply(applicationInstance("org-a", "vault", vaultSpec("1.3.0")), MANAGER);
    expect(changed.metadata?.generation).toBe(2);
    const labelled = applicationInstance("org-a", "vault", vaultSpec("1.3.0"));
    const withLabel = { ...labelled, metadata: { ...labelled.metadata, labels: { team: "a" } } };
    const relabelled = await clients.apply(withLabel, MANAGER);
    expect(relabelled.metadata?.generation).toBe(2);
    expect(Number(relabelled.metadata?.resourceVersion)).toBeGreaterThan(
      Number(changed.metadata?.resourceVersion),
    );
    // Applying without the label again removes it: this manager no longer asks for it.
    const unlabelled = await clients.apply(
      applicationInstance("org-a", "vault", vaultSpec("1.3.0")),
      MANAGER,
    );
    expect(unlabelled.metadata?.labels).toEqual({});
  });

  it("refuses to take a field another manager owns with another value: 409 Conflict naming it", async () => {
    fake.apply(applicationInstance("org-a", "contested", vaultSpec("1.0.0")), "flux");
    const failure = await refusal(
      clients.apply(applicationInstance("org-a", "contested", vaultSpec("2.0.0")), MANAGER),
    );
    expect(failure).toEqual({
      code: 409,
      status: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'Apply failed with 1 conflict: conflict with "flux": .spec.chart.version',
        reason: "Conflict",
        details: {
          causes: [
            { reason: "FieldManagerConflict", message: 'conflict with "flux"', field: ".spec.chart.version" },
          ],
        },
        code: 409,
      },
    });
    expect(fake.get(instanceRef("org-a", "contested"))?.spec).toMatchObject({ chart: { version: "1.0.0" } });
  });

  it("lists every conflicting field by manager, and names an Update owner with its apiVersion", async () => {
    const spec = vaultSpec("1.0.0");
    fake.put(
      applicationInstance("org-a", "edited", { ...spec, release: { name: "old", namespace: "old" } }),
      "kubectl-edit",
    );
    const failure = await refusal(clients.apply(applicationInstance("org-a", "edited", spec), MANAGER));
    expect(failure.status.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl-edit" using apps.vworkspace.io/v1alpha1:\n- .spec.release.name\n- .spec.release.namespace',
    );
  });

  it("shares fields applied with the same value, and takes over with force", async () => {
    const shared = await clients.apply(
      applicationInstance("org-a", "contested", vaultSpec("1.0.0")),
      MANAGER,
    );
    expect(shared.metadata?.managedFields?.map((entry) => entry.manager)).toEqual(["flux", MANAGER]);
    const forced = await clients.apply(
      applicationInstance("org-a", "contested", vaultSpec("2.0.0")),
      MANAGER,
      true,
    );
    expect(forced.spec).toMatchObject({ chart: { version: "2.0.0" } });
    const flux = forced.metadata?.managedFields?.find((entry) => entry.manager === "flux");
    expect(flux?.fieldsV1).not.toHaveProperty(["f:spec", "f:chart", "f:version"]);
    expect(flux?.fieldsV1).toHaveProperty(["f:spec", "f:chart", "f:name"]);
  });

  it("needs a fieldManager, and the kind and name of the URL", async () => {
    const noManager = await refusal(clients.apply(applicationInstance("org-a", "x", vaultSpec()), ""));
    expect(noManager.code).toBe(422);
    expect(noManager.status.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    const missingNamespace = await refusal(
      clients.apply(applicationInstance("org-zz", "x", vaultSpec()), MANAGER),
    );
    expect(missingNamespace).toMatchObject({
      code: 404,
      status: {
        reason: "NotFound",
        message: 'namespaces "org-zz" not found',
        details: { name: "org-zz", kind: "namespaces" },
      },
    });
  });

  it("treats an applied resourceVersion as a precondition", async () => {
    const stale = applicationInstance("org-a", "vault", vaultSpec("1.3.0"));
    const withVersion = { ...stale, metadata: { ...stale.metadata, resourceVersion: "1" } };
    const failure = await refusal(clients.apply(withVersion, MANAGER));
    expect(failure).toMatchObject({
      code: 409,
      status: {
        reason: "Conflict",
        message:
          'Operation cannot be fulfilled on applicationinstances.apps.vworkspace.io "vault": the object has been modified; please apply your changes to the latest version and try again',
      },
    });
  });

  it("keeps status out of main-resource applies and spec out of status writes", async () => {
    const base = applicationInstance("org-a", "vault", vaultSpec("1.3.0"));
    await clients.apply({ ...base, status: { observedGeneration: 99 } } as typeof base, MANAGER);
    expect(fake.get(instanceRef("org-a", "vault"))?.status).toBeUndefined();
    const ready = fake.setCondition(instanceRef("org-a", "vault"), {
      type: "Ready",
      status: "True",
      reason: "Reconciled",
    });
    expect(ready.metadata.generation).toBe(2);
    expect(ready.status).toEqual({
      conditions: [
        {
          type: "Ready",
          status: "True",
          observedGeneration: 2,
          lastTransitionTime: expect.any(String),
          reason: "Reconciled",
          message: "",
        },
      ],
    });
    expect(ready.metadata.managedFields?.at(-1)).toMatchObject({
      manager: "vworkspace-operator",
      operation: "Update",
      subresource: "status",
    });
    // The status is the operator's: the control plane's next apply leaves it as it is.
    const reapplied = await clients.apply(applicationInstance("org-a", "vault", vaultSpec("1.4.0")), MANAGER);
    expect(reapplied.metadata?.generation).toBe(3);
    expect((reapplied as { status?: unknown }).status).toEqual(ready.status);
  });
});
