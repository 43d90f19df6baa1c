import { manualClock } from "@vwksp/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminHeaders, agentHeaders } from "../../../test/support/agent.ts";
import { createTestApp, createTestEnv, type TestEnv } from "../../../test/support/app.ts";
import {
  adminKey,
  createCluster,
  eventually,
  issueToken,
  register,
  registeredCluster,
} from "../../../test/support/fixtures.ts";

const GRACE_SECONDS = 3_600;
const clock = manualClock(new Date("2026-11-27T08:00:30Z"));
let env: TestEnv;
let harness: Awaited<ReturnType<typeof createTestApp>>;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  harness = await createTestApp({
    env,
    clock,
    configOverrides: { CREDENTIAL_ROTATION_GRACE_SECONDS: String(GRACE_SECONDS) },
  });
  key = await adminKey(harness);
});

afterAll(async () => {
  await harness?.close();
  await env?.close();
});

const pollWith = (app: typeof harness, clusterId: string, credential: string) =>
  app.app.inject({
    url: `/api/agent/jobs?cluster=${clusterId}&wait=0`,
    headers: agentHeaders(credential, false),
  });

const auditOf = (clusterId: string, kind: string) =>
  harness.deps.db.auditEntry.findMany({ where: { clusterId, kind }, orderBy: { id: "asc" } });

describe("re-registering a cluster that has credentials", () => {
  it("supersedes them: they work for the grace period, then stop, and it is audited with the address", async () => {
    const { cluster, credential: lost } = await registeredCluster(harness, key);
    const { token } = await issueToken(harness, key, cluster.id);
    const again = await register(harness, token, cluster.id, "198.51.100.23");
    expect(again.statusCode).toBe(200);
    const fresh = again.json().token as string;
    expect(fresh).not.toBe(lost);

    expect((await pollWith(harness, cluster.id, fresh)).statusCode).toBe(200);
    expect((await pollWith(harness, cluster.id, lost)).statusCode).toBe(200);
    // A superseded credential cannot mint another one behind the new registration's back.
    const rotation = await harness.app.inject({
      method: "POST",
      url: "/api/agent/credentials/rotate",
      headers: agentHeaders(lost),
      payload: "{}",
    });
    expect(rotation.statusCode).toBe(409);
    expect(rotation.json()).toMatchObject({ error: "credential_rotated" });

    const [entry] = await auditOf(cluster.id, "ClusterReregistered");
    const validUntil = new Date(clock.now().getTime() + GRACE_SECONDS * 1000).toISOString();
    expect(entry?.data).toMatchObject({
      clientAddress: "198.51.100.23",
      supersededCredentialIds: [expect.any(String)],
      supersededValidUntil: validUntil,
    });

    clock.advance(GRACE_SECONDS * 1000 + 1_000);
    expect((await pollWith(harness, cluster.id, lost)).statusCode).toBe(401);
    expect((await pollWith(harness, cluster.id, fresh)).statusCode).toBe(200);
  });

  it("records no re-registration for a cluster's first registration", async () => {
    const { cluster } = await registeredCluster(harness, key);
    expect(await auditOf(cluster.id, "ClusterReregistered")).toHaveLength(0);
    expect(await auditOf(cluster.id, "RegistrationTokenExchanged")).toHaveLength(1);
  });

  it("records a re-registration after an admin revocation too, with nothing left to supersede", async () => {
    const { cluster } = await registeredCluster(harness, key);
    const revoked = await harness.app.inject({
      method: "POST",
      url: `/api/v1/clusters/${cluster.id}/credentials/revoke`,
      headers: adminHeaders(key),
    });
    expect(revoked.statusCode).toBe(204);
    const { token } = await issueToken(harness, key, cluster.id);
    expect((await register(harness, token, cluster.id, "198.51.100.24")).statusCode).toBe(200);
    const [entry] = await auditOf(cluster.id, "ClusterReregistered");
    expect(entry?.data).toMatchObject({ clientAddress: "198.51.100.24", supersededCredentialIds: [] });
  });

  it("reaches every API process at once, not only when their credential caches run out", async () => {
    // Registers with a grace period shorter than the 30 s the other process caches a credential.
    const other = await createTestApp({
      env,
      clock,
      configOverrides: { CREDENTIAL_ROTATION_GRACE_SECONDS: "5" },
    });
    try {
      const { cluster, credential: old } = await registeredCluster(harness, key);
      expect((await pollWith(harness, cluster.id, old)).statusCode).toBe(200);
      const { token } = await issueToken(harness, key, cluster.id);
      expect((await register(other, token, cluster.id)).statusCode).toBe(200);
      clock.advance(6_000);
      await eventually(async () => (await pollWith(harness, cluster.id, old)).statusCode === 401, 3_000);
    } finally {
      await other.close();
    }
  });
});

describe("issuing a registration token", () => {
  it("revokes the cluster's older unused tokens: one live token per cluster", async () => {
    const cluster = await createCluster(harness, key);
    const first = await issueToken(harness, key, cluster.id);
    const second = await issueToken(harness, key, cluster.id);

    const listed = await harness.app.inject({
      url: `/api/v1/clusters/${cluster.id}/registration-tokens`,
      headers: adminHeaders(key),
    });
    const statuses = Object.fromEntries(
      (listed.json().items as { id: string; status: string }[]).map((token) => [token.id, token.status]),
    );
    expect(statuses).toEqual({ [first.tokenId]: "revoked", [second.tokenId]: "active" });
    const [, issued] = await auditOf(cluster.id, "RegistrationTokenIssued");
    expect(issued?.data).toMatchObject({ tokenId: second.tokenId, revokedTokenIds: [first.tokenId] });

    expect((await register(harness, first.token, cluster.id)).statusCode).toBe(401);
    expect((await register(harness, second.token, cluster.id)).statusCode).toBe(200);
  });

  it("leaves one live token when several are issued at once", async () => {
    const cluster = await createCluster(harness, key);
    await Promise.all(Array.from({ length: 5 }, () => issueToken(harness, key, cluster.id)));
    const live = await harness.deps.db.registrationToken.count({
      where: { clusterId: cluster.id, consumedAt: null, revokedAt: null },
    });
    expect(live).toBe(1);
  });

  it("does not touch a used token or the cluster's credentials", async () => {
    const { cluster, credential } = await registeredCluster(harness, key);
    await issueToken(harness, key, cluster.id);
    expect(
      await harness.deps.db.registrationToken.count({
        where: { clusterId: cluster.id, consumedAt: { not: null } },
      }),
    ).toBe(1);
    expect((await pollWith(harness, cluster.id, credential)).statusCode).toBe(200);
  });
});
