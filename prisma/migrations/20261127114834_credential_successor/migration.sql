-- AlterTable
ALTER TABLE "AgentCredential" ADD COLUMN     "firstUsedAt" TIMESTAMP(3),
ADD COLUMN     "replacedById" UUID;

-- Credentials that exist already count as used: their first request after the upgrade then
-- costs no write, and a rotation made before it cannot be repeated (there is no record of which
-- credential replaced which).
UPDATE "AgentCredential" SET "firstUsedAt" = "createdAt";
