import type { CreateOrganizationBody } from "@vwksp/protocol";
import type { AuditService } from "../audit/audit.service.ts";
import type { Clock } from "../clock.ts";
import { type Db, Prisma } from "../db.ts";
import { conflict } from "../errors.ts";

/** Who created an organization: an API key (id and its organization), or a script run by an operator. */
export interface OrganizationCreator {
  id: string;
  organizationId?: string;
}

/** Organizations (tenants): made by the platform's operators, through the API or `pnpm admin:org`. */
export function createOrganizationsService({
  db,
  clock,
  audit,
}: {
  db: Db;
  clock: Clock;
  audit: AuditService;
}) {
  const list = () => db.organization.findMany({ orderBy: { slug: "asc" }, take: 1000 });

  async function create(creator: OrganizationCreator, body: CreateOrganizationBody) {
    try {
      return await db.$transaction(async (tx) => {
        const organization = await tx.organization.create({
          data: { slug: body.slug, name: body.name, createdAt: clock.now() },
        });
        await audit.record(
          {
            source: "user",
            kind: "OrganizationCreated",
            actor: creator.id,
            // The new organization's trail holds its creation, whoever made it.
            organizationId: organization.id,
            data: { slug: body.slug, name: body.name, byOrganizationId: creator.organizationId ?? null },
          },
          tx,
        );
        return organization;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
        throw conflict("organization_exists", `an organization with the slug ${body.slug} exists already`);
      }
      throw error;
    }
  }

  return { list, create };
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>;
