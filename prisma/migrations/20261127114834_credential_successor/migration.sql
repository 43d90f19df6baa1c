-- AlterTable
ALTER TABLE "AgentCredential" ADD COLUMN     "firstUsedAt" TIMESTAMP(3),
ADD COLUMN     "replacedById" UUID;
