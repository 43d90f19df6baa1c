import type { Db } from "../db.ts";

export const DEFAULT_ORGANIZATION_SLUG = "default";

/** The organization that bootstrap keys and Odoo-created clusters belong to unless told otherwise. */
export async function ensureDefaultOrganization(db: Db) {
  return db.organization.upsert({
    where: { slug: DEFAULT_ORGANIZATION_SLUG },
    create: { slug: DEFAULT_ORGANIZATION_SLUG, name: "Default organization" },
    update: {},
  });
}
