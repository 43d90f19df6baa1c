import type { CatalogEntry, Db, OrganizationCatalogEntry } from "../db.ts";

export type CatalogSource = "shared" | "organization";

/** A catalog entry as one organization sees it: its own, or else the shared one. */
export interface ResolvedCatalogEntry {
  entry: CatalogEntry | OrganizationCatalogEntry;
  source: CatalogSource;
  /** An organization's own entry with the id of a shared one. */
  overridesShared: boolean;
}

type CatalogReader = Pick<Db, "catalogEntry" | "organizationCatalogEntry">;

/**
 * Resolves a catalog id for an organization: the organization's own entry, else the shared one,
 * else null. Every reader of the catalog goes through here (listing, deploy checks, raw jobs'
 * chart check, rendering), so an organization's entry never reaches another organization.
 */
export async function resolveCatalogEntry(
  db: CatalogReader,
  organizationId: string,
  id: string,
): Promise<ResolvedCatalogEntry | null> {
  const [own, shared] = await Promise.all([
    db.organizationCatalogEntry.findUnique({ where: { organizationId_id: { organizationId, id } } }),
    db.catalogEntry.findUnique({ where: { id } }),
  ]);
  if (own) return { entry: own, source: "organization", overridesShared: shared !== null };
  return shared ? { entry: shared, source: "shared", overridesShared: false } : null;
}

/** The whole catalog as an organization sees it, by id. */
export async function resolvedCatalog(
  db: CatalogReader,
  organizationId: string,
): Promise<ResolvedCatalogEntry[]> {
  const [own, shared] = await Promise.all([
    db.organizationCatalogEntry.findMany({ where: { organizationId } }),
    db.catalogEntry.findMany(),
  ]);
  const sharedIds = new Set(shared.map((entry) => entry.id));
  const ownIds = new Set(own.map((entry) => entry.id));
  return [
    ...own.map((entry) => ({
      entry,
      source: "organization" as const,
      overridesShared: sharedIds.has(entry.id),
    })),
    ...shared
      .filter((entry) => !ownIds.has(entry.id))
      .map((entry) => ({ entry, source: "shared" as const, overridesShared: false })),
  ].sort((a, b) => a.entry.id.localeCompare(b.entry.id));
}
