import type { CatalogEntryBody, ChartRef, CreateCatalogEntryBody } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import type { Actor } from "../clusters/clusters.service.ts";
import { type Db, Prisma } from "../db.ts";
import { conflict, notFound } from "../errors.ts";
import { type ResolvedCatalogEntry, resolveCatalogEntry, resolvedCatalog } from "./catalog-resolution.ts";

/** Where a write goes: the shared base catalog, or the actor's organization's own entries. */
type CatalogScope = "shared" | "organization";

const contentOf = (body: CatalogEntryBody) => ({
  name: body.name,
  chart: body.chart,
  defaultValues: body.defaultValues as Prisma.InputJsonValue,
});

const isUniqueViolation = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

/**
 * Deployable applications. A shared base catalog every organization sees, changed only by the
 * platform (routes hold it to `platform:admin`), and each organization's own entries: additions,
 * or overrides of a shared entry that apply to that organization alone (catalog-resolution.ts).
 */
export function createCatalogService({ db, clock, audit }: { db: Db; clock: Clock; audit: AuditService }) {
  const list = (organizationId: string) => resolvedCatalog(db, organizationId);

  const listShared = async () =>
    (await db.catalogEntry.findMany({ orderBy: { id: "asc" } })).map(
      (entry): ResolvedCatalogEntry => ({ entry, source: "shared", overridesShared: false }),
    );

  async function get(organizationId: string, id: string) {
    const resolved = await resolveCatalogEntry(db, organizationId, id);
    if (!resolved) throw notFound(`catalog entry ${id} not found`);
    return resolved;
  }

  function recordChange(
    actor: Actor,
    scope: CatalogScope,
    kind: string,
    id: string,
    tx: Prisma.TransactionClient,
    chart?: ChartRef,
  ) {
    return audit.record(
      {
        source: "user",
        kind,
        actor: actor.id,
        organizationId: actor.organizationId,
        data: { id, scope, ...(chart ? { chart } : {}) },
      },
      tx,
    );
  }

  /** Creates or replaces an entry (PUT) in `scope`. */
  async function put(actor: Actor, scope: CatalogScope, id: string, body: CatalogEntryBody) {
    const content = contentOf(body);
    await db.$transaction(async (tx) => {
      if (scope === "shared") {
        await tx.catalogEntry.upsert({ where: { id }, create: { id, ...content }, update: content });
      } else {
        const organizationId = actor.organizationId;
        await tx.organizationCatalogEntry.upsert({
          where: { organizationId_id: { organizationId, id } },
          create: { organizationId, id, ...content },
          update: content,
        });
      }
      await recordChange(actor, scope, "CatalogEntryUpdated", id, tx, body.chart);
    });
    return scope === "shared" ? sharedEntry(id) : get(actor.organizationId, id);
  }

  /**
   * Adds an entry (POST) to `scope`; 409 when the id is taken there, or, for an organization, when
   * it names a shared entry (overriding one is a PUT, so it never happens by accident).
   */
  async function create(actor: Actor, scope: CatalogScope, body: CreateCatalogEntryBody) {
    const data = { id: body.id, ...contentOf(body), createdAt: clock.now() };
    const taken = () => conflict("catalog_entry_exists", `catalog entry ${body.id} already exists`);
    if (scope === "organization" && (await db.catalogEntry.findUnique({ where: { id: body.id } }))) {
      throw conflict(
        "catalog_entry_exists",
        `catalog entry ${body.id} exists in the shared catalog: PUT /api/v1/catalog/${body.id} overrides it for your organization`,
      );
    }
    try {
      await db.$transaction(async (tx) => {
        if (scope === "shared") await tx.catalogEntry.create({ data });
        else
          await tx.organizationCatalogEntry.create({
            data: { ...data, organizationId: actor.organizationId },
          });
        await recordChange(actor, scope, "CatalogEntryCreated", body.id, tx, body.chart);
      });
    } catch (error) {
      throw isUniqueViolation(error) ? taken() : error;
    }
    return scope === "shared" ? sharedEntry(body.id) : get(actor.organizationId, body.id);
  }

  /** Removes an organization's own entry; a shared one it overrode applies to it again. */
  async function removeOwn(actor: Actor, id: string) {
    await db.$transaction(async (tx) => {
      const removed = await tx.organizationCatalogEntry.deleteMany({
        where: { organizationId: actor.organizationId, id },
      });
      if (removed.count === 0) throw notFound(`your organization has no catalog entry ${id} of its own`);
      await recordChange(actor, "organization", "CatalogEntryDeleted", id, tx);
    });
  }

  async function sharedEntry(id: string): Promise<ResolvedCatalogEntry> {
    const entry = await db.catalogEntry.findUnique({ where: { id } });
    if (!entry) throw notFound(`shared catalog entry ${id} not found`);
    return { entry, source: "shared", overridesShared: false };
  }

  return { list, listShared, get, put, create, removeOwn };
}

export type CatalogService = ReturnType<typeof createCatalogService>;
