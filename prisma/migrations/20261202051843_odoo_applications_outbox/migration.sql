-- AlterTable
ALTER TABLE "Application" ADD COLUMN     "chartVersion" TEXT,
ADD COLUMN     "hostname" TEXT,
ADD COLUMN     "odooPushedAt" TIMESTAMP(3),
ADD COLUMN     "odooRecordId" INTEGER,
ADD COLUMN     "odooSyncError" TEXT,
ADD COLUMN     "odooSyncErrorAt" TIMESTAMP(3),
ADD COLUMN     "values" JSONB;

-- AlterTable
ALTER TABLE "OdooCursor" ADD COLUMN     "lastError" TEXT,
ADD COLUMN     "lastErrorAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "OutboxEvent" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "organizationId" UUID,
    "clusterId" UUID,
    "applicationId" UUID,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "odooClaimedAt" TIMESTAMP(3),
    "odooDoneAt" TIMESTAMP(3),

    CONSTRAINT "OutboxEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OutboxEvent_odooDoneAt_id_idx" ON "OutboxEvent"("odooDoneAt", "id");
