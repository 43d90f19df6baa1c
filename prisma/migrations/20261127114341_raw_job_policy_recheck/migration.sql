-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "policyUpdatedAt" TIMESTAMP(3);
