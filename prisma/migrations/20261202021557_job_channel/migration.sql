-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "jobChannel" JSONB,
ADD COLUMN     "lastPollAt" TIMESTAMP(3),
ADD COLUMN     "pollAuthFailures" JSONB;
