import type {
  CatalogEntryBody,
  CatalogEntry as CatalogEntryDto,
  ChartRef,
  CreateCatalogEntryBody,
} from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { type CatalogEntry, type Db, Prisma } from "../db.ts";
import { conflict, notFound } from "../errors.ts";

export function toCatalogEntryDto(row: CatalogEntry): CatalogEntryDto {
  return {
    id: row.id,
    name: row.name,
    chart: row.chart as ChartRef,
    defaultValues: row.defaultValues as Record<string, unknown>,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Deployable applications, addressed by slug id; shared by every organization. */
export function createCatalogService({ db, clock, audit }: { db: Db; clock: Clock; audit: AuditService }) {
  const list = () => db.catalogEntry.findMany({ orderBy: { id: "asc" } });

  async function get(id: string) {
    const entry = await db.catalogEntry.findUnique({ where: { id } });
    if (!entry) throw notFound(`catalog entry ${id} not found`);
    return entry;
  }

  async function create(actor: Actor, body: CreateCatalogEntryBody) {
    try {
      return await db.$transaction(async (tx) => {
        const entry = await tx.catalogEntry.create({
          data: {
            id: body.id,
            name: body.name,
            chart: body.chart,
            defaultValues: body.defaultValues as Prisma.InputJsonValue,
            createdAt: clock.now(),
          },
        });
        await audit.record(
          {
            source: "user",
            kind: "CatalogEntryCreated",
            actor: actor.id,
            organizationId: actor.organizationId,
            data: { id: body.id, chart: body.chart },
          },
          tx,
        );
        return entry;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw conflict("catalog_entry_exists", `catalog entry ${body.id} already exists`);
      }
      throw error;
    }
  }

  /** Replaces an entry (PUT); creates it when missing. */
  async function put(actor: Actor, id: string, body: CatalogEntryBody) {
    return db.$transaction(async (tx) => {
      const data = {
        name: body.name,
        chart: body.chart,
        defaultValues: body.defaultValues as Prisma.InputJsonValue,
      };
      const entry = await tx.catalogEntry.upsert({ where: { id }, create: { id, ...data }, update: data });
      await audit.record(
        {
          source: "user",
          kind: "CatalogEntryUpdated",
          actor: actor.id,
          organizationId: actor.organizationId,
          data: { id, chart: body.chart },
        },
        tx,
      );
      return entry;
    });
  }

  return { list, get, create, put };
}

export type CatalogService = ReturnType<typeof createCatalogService>;
