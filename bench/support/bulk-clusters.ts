import { createHash, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { AGENT_CREDENTIAL_PREFIX } from "../../packages/protocol/src/index.ts";
import type { AgentIdentity } from "./agents.ts";

const CHUNK = 20_000;

/**
 * `count` copies of a registered cluster (one made through the core services by
 * `createRegisteredClusters`), each with an agent credential of its own, written with two bulk
 * INSERTs per chunk instead of two service calls per cluster: tens of thousands of clusters in
 * seconds. Every column is copied from the template except the id, the slug and the display name
 * (so the copies share the template's organization, status "connected", allowances and signing
 * key pair); the credentials are `vwksp-agt-<64 hex>` stored as SHA-256, as
 * `credentials.issue` stores them.
 */
export async function cloneRegisteredClusters(
  databaseUrl: string,
  templateClusterId: string,
  count: number,
): Promise<AgentIdentity[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {});
  await client.connect();
  const agents: AgentIdentity[] = [];
  try {
    for (let start = 0; start < count; start += CHUNK) {
      const size = Math.min(CHUNK, count - start);
      const ids: string[] = [];
      const numbers: number[] = [];
      const hashes: string[] = [];
      for (let index = 0; index < size; index += 1) {
        const clusterId = randomUUID();
        const token = `${AGENT_CREDENTIAL_PREFIX}${randomBytes(32).toString("hex")}`;
        ids.push(clusterId);
        numbers.push(start + index);
        hashes.push(createHash("sha256").update(token).digest("hex"));
        agents.push({ clusterId, token });
      }
      await client.query("BEGIN");
      const { rowCount } = await client.query(
        `INSERT INTO "Cluster" (id, "organizationId", slug, "displayName", "connectivityMode",
           "allowedNamespaces", "allowedCatalogEntries", "allowedOperationTemplates", status, "signPayloads",
           "signingPublicKey", "signingPrivateKey", "createdAt", "updatedAt", "registeredAt",
           "lastHeartbeatAt", "lastSeenAt")
         SELECT x.id, t."organizationId", t.slug || '-copy-' || x.n, t."displayName" || ' copy ' || x.n,
           t."connectivityMode", t."allowedNamespaces", t."allowedCatalogEntries", t."allowedOperationTemplates",
           t.status, t."signPayloads", t."signingPublicKey", t."signingPrivateKey", t."createdAt", t."updatedAt",
           t."registeredAt", t."lastHeartbeatAt", t."lastSeenAt"
         FROM "Cluster" t, unnest($1::uuid[], $2::int[]) AS x(id, n)
         WHERE t.id = $3::uuid`,
        [ids, numbers, templateClusterId],
      );
      if (rowCount !== size) throw new Error(`cloned ${rowCount} of ${size} clusters`);
      await client.query(
        `INSERT INTO "AgentCredential" (id, "clusterId", "tokenHash", "createdAt")
         SELECT gen_random_uuid(), x.id, x.hash, now() AT TIME ZONE 'UTC'
         FROM unnest($1::uuid[], $2::text[]) AS x(id, hash)`,
        [ids, hashes],
      );
      await client.query("COMMIT");
    }
    // Fresh statistics, as autovacuum would have them on a database that grew slowly.
    await client.query(`ANALYZE "Cluster", "AgentCredential"`);
  } finally {
    await client.end();
  }
  return agents;
}
