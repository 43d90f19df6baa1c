-- Catalog entries of an organization's own. The rows already in "CatalogEntry" stay where they
-- are and become the shared base catalog every organization sees (only platform:admin changes it).
-- CreateTable
CREATE TABLE "OrganizationCatalogEntry" (
    "organizationId" UUID NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "chart" JSONB NOT NULL,
    "defaultValues" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OrganizationCatalogEntry_pkey" PRIMARY KEY ("organizationId","id")
);

-- AddForeignKey
ALTER TABLE "OrganizationCatalogEntry" ADD CONSTRAINT "OrganizationCatalogEntry_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;
