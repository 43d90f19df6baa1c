import type { CatalogEntry as CatalogEntryDto, ChartRef } from "@vwksp/protocol";
import type { ResolvedCatalogEntry } from "./catalog-resolution.ts";

/** A catalog entry as the caller's organization sees it: where it comes from, and what it overrides. */
export function toCatalogEntryDto({ entry, source, overridesShared }: ResolvedCatalogEntry): CatalogEntryDto {
  return {
    id: entry.id,
    name: entry.name,
    chart: entry.chart as ChartRef,
    defaultValues: entry.defaultValues as Record<string, unknown>,
    source,
    overridesShared,
    createdAt: entry.createdAt.toISOString(),
    updatedAt: entry.updatedAt.toISOString(),
  };
}
