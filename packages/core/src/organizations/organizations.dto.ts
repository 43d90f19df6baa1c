import type { Organization as OrganizationDto } from "@vwksp/protocol";
import type { Organization } from "../db.ts";

/** An organization (tenant) as the platform's keys see it. */
export const toOrganizationDto = (row: Organization): OrganizationDto => ({
  id: row.id,
  slug: row.slug,
  name: row.name,
  createdAt: row.createdAt.toISOString(),
});
