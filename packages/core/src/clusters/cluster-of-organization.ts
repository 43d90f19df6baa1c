import type { Cluster, Db, Prisma } from "../db.ts";
import { notFound } from "../errors.ts";

type Reader = Db | Prisma.TransactionClient;

/**
 * The cluster `id` of the organization. Another organization's cluster is a 404 like a cluster
 * that does not exist: an admin learns nothing about clusters that are not theirs.
 */
export async function clusterOfOrganization(
  db: Reader,
  organizationId: string,
  id: string,
): Promise<Cluster> {
  const cluster = await db.cluster.findFirst({ where: { id, organizationId } });
  if (!cluster) throw notFound(`cluster ${id} not found`);
  return cluster;
}

/** Only that the cluster is the organization's (a 404 otherwise), for calls that need no column. */
export async function requireClusterOfOrganization(db: Reader, organizationId: string, id: string) {
  const cluster = await db.cluster.findFirst({ where: { id, organizationId }, select: { id: true } });
  if (!cluster) throw notFound(`cluster ${id} not found`);
}
