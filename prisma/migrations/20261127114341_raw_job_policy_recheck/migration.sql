-- AlterTable (metadata-only: constant defaults, no rewrite)
ALTER TABLE "Cluster" ADD COLUMN     "policyVersion" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "policyVersion" INTEGER NOT NULL DEFAULT 0;
