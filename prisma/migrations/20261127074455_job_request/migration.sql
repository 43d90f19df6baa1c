-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "request" JSONB;
