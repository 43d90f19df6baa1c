import { requireClusterOfOrganization } from "../clusters/cluster-of-organization.ts";
import type { Db, Prisma } from "../db.ts";
import { notFound } from "../errors.ts";
import { afterCursor, CURSOR_IDS, decodeCursor, pageOf } from "../pagination.ts";

/** Reading jobs for the admin API: one job with its interim statuses, a cluster's jobs by page. */
export function createJobQueries(db: Db) {
  async function get(organizationId: string, jobId: string) {
    const job = await db.job.findFirst({
      where: { id: jobId, cluster: { organizationId } },
      include: { statuses: { orderBy: { id: "asc" }, take: 200 } },
    });
    if (!job) throw notFound(`job ${jobId} not found`);
    return job;
  }

  async function list(
    organizationId: string,
    clusterId: string,
    query: { state?: string | undefined; limit: number; cursor?: string | undefined },
  ) {
    await requireClusterOfOrganization(db, organizationId, clusterId);
    const rows = await db.job.findMany({
      where: {
        clusterId,
        ...(query.state ? { state: query.state as Prisma.EnumJobStateFilter["equals"] } : {}),
        ...afterCursor("createdAt", decodeCursor(query.cursor, CURSOR_IDS.job)),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: query.limit + 1,
    });
    return pageOf(rows, query.limit, (row) => row.createdAt);
  }

  return { get, list };
}

export type JobQueries = ReturnType<typeof createJobQueries>;
