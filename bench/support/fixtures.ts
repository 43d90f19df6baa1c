import {
  type Actor,
  createApiKeysService,
  createAuditService,
  createClustersService,
  createCredentialsService,
  createDb,
  createRegistrationTokensService,
  type Db,
  silentNotifier,
  systemClock,
} from "../../packages/core/src/index.ts";
import { CreateClusterBody } from "../../packages/protocol/src/index.ts";
import { mapLimit } from "./stats.ts";

export const BENCH_ADMIN_KEY = "vwksp-key-bench-admin-0123456789abcdef";

type Services = ReturnType<typeof createFixtureServices>;

/** The core services a bench needs to set up data, on a pool of its own. */
export function createFixtureServices(databaseUrl: string, db: Db = createDb(databaseUrl)) {
  const clock = systemClock;
  const audit = createAuditService({ db, clock });
  const credentials = createCredentialsService({
    db,
    clock,
    audit,
    notifier: silentNotifier,
    rotationGraceSeconds: 86_400,
  });
  return {
    db,
    apiKeys: createApiKeysService({ db, clock }),
    clusters: createClustersService({ db, clock, audit, notifier: silentNotifier }),
    credentials,
    registrationTokens: createRegistrationTokensService({
      db,
      clock,
      audit,
      credentials,
      notifier: silentNotifier,
    }),
  };
}

/** The bench's admin actor (an all-scope key of the default organization). */
export async function benchActor(services: Pick<Services, "apiKeys">): Promise<Actor> {
  const key = await services.apiKeys.ensureBootstrapKey(BENCH_ADMIN_KEY);
  return { id: key.id, organizationId: key.organizationId };
}

let created = 0;

const clusterBody = (index: number) =>
  CreateClusterBody.parse({ displayName: `Bench cluster ${index}`, slug: `bench-${index}` });

/** `count` pending clusters (as an admin creates them before any agent registers). */
export async function createClusters(
  services: Pick<Services, "clusters">,
  actor: Actor,
  count: number,
  concurrency = 8,
) {
  const indexes = Array.from({ length: count }, (_, index) => created + index);
  created += count;
  return mapLimit(indexes, concurrency, async (index) => services.clusters.create(actor, clusterBody(index)));
}

/**
 * `count` clusters that look registered: created through the clusters service, with an agent
 * credential issued by the credentials service and the state a registration leaves behind
 * (no argon2 exchange: that is measured by bench/auth, not here).
 */
export async function createRegisteredClusters(services: Services, actor: Actor, count: number) {
  const clusters = await createClusters(services, actor, count);
  return mapLimit(clusters, 8, async (cluster) => {
    const credential = await services.credentials.issue(cluster.id);
    const now = new Date();
    await services.db.cluster.update({
      where: { id: cluster.id },
      data: { status: "connected", registeredAt: now, lastSeenAt: now },
    });
    return { clusterId: cluster.id, token: credential.token };
  });
}
