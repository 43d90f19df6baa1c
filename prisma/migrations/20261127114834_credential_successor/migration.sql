-- AlterTable (both metadata-only: no rewrite, no backfill)
ALTER TABLE "AgentCredential" ADD COLUMN     "awaitingFirstUse" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "replacedById" UUID;
