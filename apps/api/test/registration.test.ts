import { manualClock } from "@vwksp/core";
import { formatRegistrationToken, parseRegistrationToken } from "@vwksp/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createLogCapture, createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  createCluster,
  issueToken,
  poll,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";

let env: TestEnv;
const clock = manualClock(new Date("2026-11-27T08:00:00Z"));
const logs = createLogCapture();
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;
const secretsSeen: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    clock,
    captureLogs: logs,
    configOverrides: { AUTH_FAILURE_LIMIT_PER_MINUTE: "1000" },
  });
  key = await adminKey(harness);
  secretsSeen.push(key);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const rotate = (credential: string) =>
  harness.app.inject({
    method: "POST",
    url: "/api/agent/credentials/rotate",
    headers: agentHeaders(credential),
    payload: "{}",
  });

describe("registration tokens", () => {
  it("issues a checksummed token shown once and stores only an argon2id hash", async () => {
    const cluster = await createCluster(harness, key);
    const issued = await issueToken(harness, key, cluster.id);
    secretsSeen.push(issued.token);
    expect(issued.token).toMatch(/^vwksp-reg-[0-9a-f]{64}$/);
    expect(parseRegistrationToken(issued.token)?.lookupId).toBe(issued.tokenId);
    expect(new Date(issued.expiresAt).getTime() - clock.now().getTime()).toBe(86_400_000);

    const row = await harness.deps.db.registrationToken.findUniqueOrThrow({ where: { id: issued.tokenId } });
    expect(row.secretHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(row)).not.toContain(parseRegistrationToken(issued.token)?.secret);

    const list = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/registration-tokens`,
      headers: adminHeaders(key),
    });
    expect(list.json().items).toEqual([
      {
        id: issued.tokenId,
        createdAt: expect.any(String),
        expiresAt: issued.expiresAt,
        consumedAt: null,
        revokedAt: null,
        status: "active",
      },
    ]);
    expect(list.body).not.toContain(issued.token.slice(26));
  });

  it("refuses a ttl outside 1 … 604800 seconds", async () => {
    const cluster = await createCluster(harness, key);
    for (const ttlSeconds of [0, 604_801, 1.5]) {
      const response = await harness.app.inject({
        method: "POST",
        url: `/api/v1/clusters/${cluster.id}/registration-tokens`,
        headers: adminHeaders(key),
        payload: { ttlSeconds },
      });
      expect(response.statusCode).toBe(400);
    }
  });

  it("revokes an unused token; a revoked token is refused", async () => {
    const cluster = await createCluster(harness, key);
    const issued = await issueToken(harness, key, cluster.id);
    const revoke = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}/registration-tokens/${issued.tokenId}`,
      headers: adminHeaders(key),
    });
    expect(revoke.statusCode).toBe(204);
    expect(revoke.body).toBe("");
    const response = await register(harness, issued.token);
    expect(response.statusCode).toBe(401);
  });
});

describe("POST /api/agent/register", () => {
  it("exchanges a token exactly as the Go operator sends it and marks the cluster connected", async () => {
    const cluster = await createCluster(harness, key);
    const { token, tokenId } = await issueToken(harness, key, cluster.id);
    const response = await register(harness, token, cluster.id);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("application/vnd.vworkspace.agent.v1+json");
    const body = response.json();
    secretsSeen.push(body.token);
    expect(body).toEqual({
      clusterId: cluster.id,
      token: expect.stringMatching(/^vwksp-agt-[0-9a-f]{64}$/),
      signingPublicKey: cluster.signingPublicKey,
      signPayloads: false,
    });

    const stored = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(stored.status).toBe("connected");
    const credential = await harness.deps.db.agentCredential.findFirstOrThrow({
      where: { clusterId: cluster.id },
    });
    expect(credential.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(credential.tokenHash).not.toBe(body.token);

    const audit = await harness.deps.db.auditEntry.findFirstOrThrow({
      where: { clusterId: cluster.id, kind: "RegistrationTokenExchanged" },
    });
    expect(audit.data).toMatchObject({ tokenId, clientAddress: "127.0.0.1" });

    const again = await register(harness, token, cluster.id);
    expect(again.statusCode).toBe(401);
    const revokeUsed = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}/registration-tokens/${tokenId}`,
      headers: adminHeaders(key),
    });
    expect(revokeUsed.statusCode).toBe(409);
  });

  it("returns the bound cluster id when the body names none and uses the header token when the body's is empty", async () => {
    const cluster = await createCluster(harness, key);
    const { token } = await issueToken(harness, key, cluster.id);
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/agent/register",
      headers: agentHeaders(token),
      payload: JSON.stringify({ registrationToken: "" }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().clusterId).toBe(cluster.id);
  });

  it.each(["another-cluster", "00000000-0000-4000-8000-000000000000", "prod-eu", "x".repeat(5_000)])(
    "answers a foreign clusterId %s with 403 and leaves the token unused",
    async (foreignId) => {
      const cluster = await createCluster(harness, key);
      const { token } = await issueToken(harness, key, cluster.id);
      const refused = await register(harness, token, foreignId);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ error: "cluster_mismatch" });
      const accepted = await register(harness, token, cluster.id);
      expect(accepted.statusCode).toBe(200);
    },
  );

  it("answers a malformed token of any length with 401", async () => {
    for (const token of [`vwksp-reg-${"a".repeat(300)}`, "x".repeat(10_000)]) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/agent/register",
        headers: agentHeaders(token),
        payload: JSON.stringify({ registrationToken: token }),
      });
      expect(response.statusCode).toBe(401);
    }
  });

  it("refuses a one-character typo by its checksum", async () => {
    const cluster = await createCluster(harness, key);
    const { token } = await issueToken(harness, key, cluster.id);
    const last = token.at(-10) === "a" ? "b" : "a";
    const typo = `${token.slice(0, -10)}${last}${token.slice(-9)}`;
    expect(parseRegistrationToken(typo)).toBeNull();
    const response = await register(harness, typo);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: "invalid_token",
      message: expect.stringContaining("malformed"),
    });
  });

  it("refuses a well-formed token with a wrong secret", async () => {
    const cluster = await createCluster(harness, key);
    const { tokenId } = await issueToken(harness, key, cluster.id);
    const forged = formatRegistrationToken(tokenId, "0".repeat(40));
    expect((await register(harness, forged)).statusCode).toBe(401);
  });

  it.each([
    ["no token at all", {}, {}],
    ["a non-token string", { authorization: "Bearer hello" }, { registrationToken: "hello" }],
    ["an agent credential", { authorization: `Bearer vwksp-agt-${"0".repeat(64)}` }, {}],
  ])("answers %s with 401", async (_name, headers, body) => {
    const response = await harness.app.inject({
      method: "POST",
      url: "/api/agent/register",
      headers: { "content-type": "application/vnd.vworkspace.agent.v1+json", ...headers },
      payload: JSON.stringify(body),
    });
    expect(response.statusCode).toBe(401);
  });

  it("refuses an expired token (controlled clock)", async () => {
    const cluster = await createCluster(harness, key);
    const { token } = await issueToken(harness, key, cluster.id, 60);
    clock.advance(61_000);
    const response = await register(harness, token, cluster.id);
    expect(response.statusCode).toBe(401);
  });

  it("lets exactly one of 50 concurrent exchanges of one token win", async () => {
    const cluster = await createCluster(harness, key);
    const { token } = await issueToken(harness, key, cluster.id);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => register(harness, token, cluster.id)),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status !== 200).every((status) => status === 401)).toBe(true);
    expect(await harness.deps.db.agentCredential.count({ where: { clusterId: cluster.id } })).toBe(1);
  });

  it("does not disturb a registered cluster when a new token is issued", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await issueToken(harness, key, cluster.id);
    const stored = await harness.deps.db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(stored.status).toBe("connected");
    expect((await rotate(credential)).statusCode).toBe(200);
  });
});

describe("with Redis down", () => {
  it("still registers and still accepts a deploy (the job waits in PostgreSQL for the reconciler)", async () => {
    const broken = await createTestApp({
      env,
      clock,
      configOverrides: {
        REDIS_URL: "redis://127.0.0.1:1",
        ODOO_URL: "http://127.0.0.1:1",
        ODOO_DB: "odoo",
        ODOO_LOGIN: "sync",
        ODOO_API_KEY: "k",
        AUTH_FAILURE_LIMIT_PER_MINUTE: "1000",
      },
    });
    try {
      const cluster = await createCluster(broken, key);
      const { token } = await issueToken(broken, key, cluster.id);
      const registered = await register(broken, token, cluster.id);
      expect(registered.statusCode).toBe(200);
      const deploy = await broken.app.inject({
        method: "POST",
        url: `/api/v1/clusters/${cluster.id}/applications`,
        headers: adminHeaders(key),
        payload: { catalogId: "vaultwarden", namespace: "org-a", name: "vault" },
      });
      expect(deploy.statusCode).toBe(202);
      expect((await broken.deps.db.job.findUniqueOrThrow({ where: { id: deploy.json().jobId } })).state).toBe(
        "queued",
      );
    } finally {
      await broken.close();
    }
  });
});

describe("agent credentials", () => {
  it("rotates: the new credential works, the old one until the grace period ends", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const response = await rotate(credential);
    expect(response.statusCode).toBe(200);
    const { token: next } = response.json();
    expect(next).toMatch(/^vwksp-agt-[0-9a-f]{64}$/);
    secretsSeen.push(credential, next);

    await expect(harness.deps.credentials.authenticate(next)).resolves.toMatchObject({
      clusterId: cluster.id,
    });
    clock.advance(86_000_000);
    await expect(harness.deps.credentials.authenticate(credential)).resolves.toMatchObject({
      clusterId: cluster.id,
    });
    clock.advance(500_000);
    await expect(harness.deps.credentials.authenticate(credential)).rejects.toMatchObject({
      statusCode: 401,
    });
    await expect(harness.deps.credentials.authenticate(next)).resolves.toMatchObject({
      clusterId: cluster.id,
    });
    expect((await rotate(credential)).statusCode).toBe(401);

    const audit = await harness.deps.db.auditEntry.findFirst({
      where: { clusterId: cluster.id, kind: "CredentialRotated" },
    });
    expect(audit?.source).toBe("agent");
  });

  it("repeats a rotation whose answer was lost, one successor at a time, and stops once the successor is used", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    const first = await rotate(credential);
    expect(first.statusCode).toBe(200);
    const lost = first.json().token as string;
    const original = await harness.deps.db.agentCredential.findFirstOrThrow({
      where: { clusterId: cluster.id, rotatedAt: { not: null } },
    });
    // The answer never arrived: the agent rotates again with the credential it still has.
    const again = await rotate(credential);
    expect(again.statusCode).toBe(200);
    const kept = again.json().token as string;
    secretsSeen.push(lost, kept);
    await expect(harness.deps.credentials.authenticate(lost)).rejects.toMatchObject({ statusCode: 401 });

    // Once the successor is in use, the old credential cannot mint another one.
    expect(await poll(harness, cluster.id, kept)).toEqual([]);
    const refused = await rotate(credential);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toBe("credential_rotated");
    await expect(harness.deps.credentials.authenticate(kept)).resolves.toBeDefined();
    // Its grace period was never extended, and exactly one successor is live.
    const after = await harness.deps.db.agentCredential.findUniqueOrThrow({ where: { id: original.id } });
    expect(after.expiresAt).toEqual(original.expiresAt);
    const live = await harness.deps.db.agentCredential.count({
      where: { clusterId: cluster.id, revokedAt: null, rotatedAt: null },
    });
    expect(live).toBe(1);
    // The successor itself rotates as usual.
    expect((await rotate(kept)).statusCode).toBe(200);
  });

  it("refuses malformed, unknown and missing credentials with 401", async () => {
    for (const headers of [
      {},
      { authorization: "Bearer" },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: `Bearer vwksp-agt-${"f".repeat(64)}` },
      { authorization: `Bearer vwksp-agt-${"F".repeat(64)}` },
    ]) {
      const response = await harness.app.inject({
        method: "POST",
        url: "/api/agent/credentials/rotate",
        headers,
        payload: {},
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: "unauthorized", requestId: expect.any(String) });
    }
  });

  it("answers 403 once the cluster is disabled, and cancels its open jobs", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await harness.deps.db.job.create({
      data: {
        id: "j-disable-test",
        clusterId: cluster.id,
        kind: "apply",
        payload: {},
        idempotencyKey: "k",
        expiresAt: new Date(Date.now() + 60_000),
        state: "ready",
      },
    });
    const disabled = await harness.app.inject({
      method: "DELETE",
      url: `/api/v1/clusters/${cluster.id}`,
      headers: adminHeaders(key),
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json().status).toBe("disabled");
    expect((await rotate(credential)).statusCode).toBe(403);
    expect((await harness.deps.db.job.findUniqueOrThrow({ where: { id: "j-disable-test" } })).state).toBe(
      "cancelled",
    );
    const tokenForDisabled = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/registration-tokens`,
      headers: adminHeaders(key),
    });
    expect(tokenForDisabled.statusCode).toBe(409);
  });

  it("revokes every credential of a cluster at once", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await harness.deps.credentials.authenticate(credential);
    const revoke = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
    });
    expect(revoke.statusCode).toBe(204);
    expect((await rotate(credential)).statusCode).toBe(401);
    const audit = await harness.deps.db.auditEntry.findFirst({
      where: { clusterId: cluster.id, kind: "CredentialsRevoked" },
    });
    expect(audit?.data).toMatchObject({ revoked: 1 });
  });

  it("revocation reaches a second app instance sharing Redis within 2 s", async () => {
    const second = await createTestApp({ env, clock });
    try {
      const { cluster, credential } = await registeredCluster(harness, key);
      await expect(second.deps.credentials.authenticate(credential)).resolves.toMatchObject({
        clusterId: cluster.id,
      });
      const started = Date.now();
      await harness.app.inject({
        method: "POST",
        url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
        headers: adminHeaders(key),
      });
      let status = 200;
      while (Date.now() - started < 2_000) {
        status = (
          await second.app.inject({
            method: "POST",
            url: "/api/agent/credentials/rotate",
            headers: agentHeaders(credential),
            payload: "{}",
          })
        ).statusCode;
        if (status === 401) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await second.close();
    }
  });
});

describe("secrets", () => {
  it("never writes a token, credential or API key to the logs or the audit trail", async () => {
    expect(logs.lines.length).toBeGreaterThan(50);
    const text = logs.text();
    for (const secret of secretsSeen) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/vwksp-(reg|agt)-[0-9a-f]{10}/);
    const audit = JSON.stringify(await harness.deps.db.auditEntry.findMany(), (_k, v) =>
      typeof v === "bigint" ? String(v) : v,
    );
    for (const secret of secretsSeen) expect(audit).not.toContain(secret);
  });
});
