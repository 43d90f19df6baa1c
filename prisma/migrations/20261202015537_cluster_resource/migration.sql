-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "clusterResource" JSONB;
