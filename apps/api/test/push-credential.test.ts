import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeFake } from "../../../packages/kube-fake/src/index.ts";
import { kubeconfigYaml } from "../../../packages/push/src/index.ts";
import {
  NAMESPACES,
  provisionPushCredential,
  startCluster,
} from "../../../packages/push/test/support/cluster.ts";
import { adminHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import { adminKey, createCluster } from "../../../test/support/fixtures.ts";

const SECRET_KEY = "a".repeat(64);

let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let keyless: Awaited<ReturnType<typeof createTestApp>>;
let kube: KubeFake;
let credential: Awaited<ReturnType<typeof provisionPushCredential>>;
let key: string;
const logs = createLogCapture();

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({ env, configOverrides: { SECRET_KEY }, captureLogs: logs });
  keyless = await createTestApp({ env });
  key = await adminKey(harness);
  kube = await startCluster({ gitVersion: "v1.31.7" });
  credential = await provisionPushCredential(kube);
});

afterAll(async () => {
  await kube?.close();
  await keyless?.close();
  await harness?.close();
  await env?.close();
});

const pushCluster = () =>
  createCluster(harness, key, { connectivityMode: "push", allowedNamespaces: [...NAMESPACES, "org-*"] });

function put(clusterId: string, body: string | object, app = harness) {
  const yaml = typeof body === "string";
  return app.app.inject({
    method: "PUT",
    url: `/api/v1/clusters/${clusterId}/kubeconfig`,
    headers: { ...adminHeaders(key), "content-type": yaml ? "application/yaml" : "application/json" },
    payload: yaml ? body : JSON.stringify(body),
  });
}

const view = async (clusterId: string) =>
  (
    await harness.app.inject({
      method: "GET",
      url: `/api/v1/clusters/${clusterId}`,
      headers: adminHeaders(key),
    })
  ).json();

// biome-ignore lint/suspicious/noExplicitAny: the variants reshape the kubeconfig freely, on purpose
type Doc = Record<string, any>;

/** The pasted kubeconfig with a change to its single cluster, user or whole document. */
const variant = (change: (doc: Doc) => void) => () => variantNow(change);
function variantNow(change: (doc: Doc) => void): Doc {
  const doc = structuredClone(credential.kubeconfig) as unknown as Doc;
  change(doc);
  return doc;
}

describe("PUT /api/v1/clusters/{id}/kubeconfig", () => {
  it("stores a YAML kubeconfig sealed, validates it, and marks the cluster connected with its version", async () => {
    const cluster = await pushCluster();
    const response = await put(cluster.id, kubeconfigYaml(credential.kubeconfig));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      server: kube.url,
      authentication: "token",
      certificateAuthority: "inline",
      validation: { state: "Connected", message: null, kubernetesVersion: "v1.31.7" },
    });
    const shown = await view(cluster.id);
    expect(shown).toMatchObject({
      status: "connected",
      kubernetesVersion: "v1.31.7",
      push: { validation: { state: "Connected" } },
    });
    expect(shown.registeredAt).not.toBeNull();
    const audit = await harness.deps.db.auditEntry.findMany({ where: { clusterId: cluster.id } });
    expect(audit.map((entry) => entry.kind)).toEqual(
      expect.arrayContaining(["PushCredentialSet", "PushClusterConnected"]),
    );
  });

  it("accepts the JSON form, and replacing it is audited", async () => {
    const cluster = await pushCluster();
    expect((await put(cluster.id, credential.kubeconfig)).statusCode).toBe(200);
    expect((await put(cluster.id, credential.kubeconfig)).statusCode).toBe(200);
    const kinds = (await harness.deps.db.auditEntry.findMany({ where: { clusterId: cluster.id } })).map(
      (entry) => entry.kind,
    );
    expect(kinds).toEqual(expect.arrayContaining(["PushCredentialSet", "PushCredentialReplaced"]));
  });

  it.each([
    [
      "AmbiguousContext",
      variant((doc) => {
        doc.contexts.push({ name: "other", context: doc.contexts[0].context });
        delete doc["current-context"];
      }),
    ],
    [
      "ExecPluginRefused",
      variant((doc) => {
        doc.users[0].user = { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws" } };
      }),
    ],
    [
      "AuthProviderRefused",
      variant((doc) => {
        doc.users[0].user = { "auth-provider": { name: "oidc", config: {} } };
      }),
    ],
    [
      "PlainHttpRefused",
      variant((doc) => {
        doc.clusters[0].cluster.server = "http://10.0.0.1:6443";
      }),
    ],
    [
      "FilePathRefused",
      variant((doc) => {
        doc.clusters[0].cluster = {
          server: doc.clusters[0].cluster.server,
          "certificate-authority": "/etc/ca.crt",
        };
      }),
    ],
  ])("refuses %s with 400 and the reason", async (reason, body) => {
    const cluster = await pushCluster();
    const response = await put(cluster.id, body());
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json()).toMatchObject({ error: "kubeconfig_refused" });
    expect(response.json().message).toMatch(new RegExp(`^${reason}`));
    expect(await harness.deps.db.pushCredential.count({ where: { clusterId: cluster.id } })).toBe(0);
  });

  it("refuses a pull cluster (409), and a control plane without SECRET_KEY (409 naming it)", async () => {
    const pull = await createCluster(harness, key);
    const refused = await put(pull.id, credential.kubeconfig);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toBe("not_push_cluster");
    const cluster = await pushCluster();
    const noKey = await put(cluster.id, credential.kubeconfig, keyless);
    expect(noKey.statusCode).toBe(409);
    expect(noKey.json()).toMatchObject({ error: "secret_key_missing" });
    expect(noKey.json().message).toContain("SECRET_KEY");
  });
});

describe("validation reasons", () => {
  const validationOf = async (body: object) => {
    const cluster = await pushCluster();
    const response = await put(cluster.id, body);
    expect(response.statusCode, response.body).toBe(200);
    const shown = await view(cluster.id);
    expect(shown.status).toBe("disconnected");
    return response.json().validation as { state: string; message: string };
  };

  it("Unauthorized: a token the API server does not know", async () => {
    const validation = await validationOf(
      variantNow((doc) => {
        doc.users[0].user.token = "not-a-known-token";
      }),
    );
    expect(validation.state).toBe("Unauthorized");
  });

  it("Forbidden, naming the verb and resource", async () => {
    kube.addUser({ token: "powerless-token", username: "powerless", rules: [] });
    const validation = await validationOf(
      variantNow((doc) => {
        doc.users[0].user.token = "powerless-token";
      }),
    );
    expect(validation.state).toBe("Forbidden");
    expect(validation.message).toMatch(/applicationinstances\.apps\.vworkspace\.io/);
    expect(validation.message).toMatch(/list|watch|get|create|patch|delete/);
  });

  it("TLSError: a certificate the stored CA does not trust", async () => {
    const other = await startCluster();
    try {
      const validation = await validationOf(
        variantNow((doc) => {
          doc.clusters[0].cluster["certificate-authority-data"] = Buffer.from(other.caCert).toString(
            "base64",
          );
        }),
      );
      expect(validation.state).toBe("TLSError");
    } finally {
      await other.close();
    }
  });

  it("CRDMissing: the vWorkspace CRDs are not installed", async () => {
    const bare = await startCluster({ omitGroups: ["apps.vworkspace.io"] });
    try {
      const validation = await validationOf(bare.kubeconfig() as unknown as object);
      expect(validation.state).toBe("CRDMissing");
    } finally {
      await bare.close();
    }
  });

  it("Unreachable, and connected again once the API server is back (the periodic re-validation)", async () => {
    const down = await startCluster();
    const provisioned = await provisionPushCredential(down);
    await down.stop();
    const cluster = await pushCluster();
    const response = await put(cluster.id, provisioned.kubeconfig);
    expect(response.json().validation.state).toBe("Unreachable");
    expect((await view(cluster.id)).status).toBe("disconnected");
    await down.restart();
    try {
      await harness.deps.pushCredentials.revalidateAll();
      expect(await view(cluster.id)).toMatchObject({
        status: "connected",
        push: { validation: { state: "Connected" } },
      });
    } finally {
      await down.close();
    }
  });
});

describe("DELETE /api/v1/clusters/{id}/kubeconfig", () => {
  it("removes it, disconnects the cluster and audits; a second delete is 404", async () => {
    const cluster = await pushCluster();
    expect((await put(cluster.id, credential.kubeconfig)).statusCode).toBe(200);
    const del = () =>
      harness.app.inject({
        method: "DELETE",
        url: `/api/v1/clusters/${cluster.id}/kubeconfig`,
        headers: adminHeaders(key),
      });
    expect((await del()).statusCode).toBe(204);
    expect(await view(cluster.id)).toMatchObject({ status: "disconnected", push: null });
    expect((await del()).statusCode).toBe(404);
    const kinds = (await harness.deps.db.auditEntry.findMany({ where: { clusterId: cluster.id } })).map(
      (entry) => entry.kind,
    );
    expect(kinds).toContain("PushCredentialRemoved");
  });
});

describe("the kubeconfig is never in clear", () => {
  it("not in the database, the answers, the audit trail or the logs", async () => {
    const cluster = await pushCluster();
    const answers = [(await put(cluster.id, kubeconfigYaml(credential.kubeconfig))).body];
    answers.push(JSON.stringify(await view(cluster.id)));
    const rows = await harness.deps.db.pushCredential.findMany();
    const audit = await harness.deps.db.auditEntry.findMany();
    const clusters = await harness.deps.db.cluster.findMany();
    const secret = credential.token;
    const caData = credential.kubeconfig.clusters[0].cluster["certificate-authority-data"] ?? "";
    const json = (value: unknown) =>
      JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
    for (const text of [...answers, json(rows), json(audit), json(clusters), logs.lines.join("\n")]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString("base64"));
    }
    expect(caData.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.sealedKubeconfig.startsWith("vwksp-sealed:v2:"))).toBe(true);
    // And it opens only for its own cluster.
    const [first, second] = rows;
    if (first && second) {
      await harness.deps.db.pushCredential.update({
        where: { clusterId: second.clusterId },
        data: { sealedKubeconfig: first.sealedKubeconfig },
      });
      await expect(harness.deps.pushCredentials.kubeconfigOf(second.clusterId)).rejects.toThrow(
        /does not open/,
      );
    }
  });
});
