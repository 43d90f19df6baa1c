-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "odooDisabledAt" TIMESTAMP(3),
ADD COLUMN     "odooRemovedAt" TIMESTAMP(3),
ADD COLUMN     "odooSyncError" TEXT,
ADD COLUMN     "odooSyncErrorAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "OdooCursor" (
    "model" TEXT NOT NULL,
    "cursor" TEXT,
    "lastPullAt" TIMESTAMP(3),
    "lastReconcileAt" TIMESTAMP(3),

    CONSTRAINT "OdooCursor_pkey" PRIMARY KEY ("model")
);

-- The bridge's one cursor becomes the default model's. (A deployment that synced another
-- ODOO_CLUSTER_MODEL starts that model's pull from the beginning, which applies nothing twice.)
INSERT INTO "OdooCursor" ("model", "cursor", "lastPullAt")
SELECT 'vws.cluster', "pullCursor", "lastPullAt" FROM "OdooSyncState" WHERE "id" = 'default';

-- AlterTable
ALTER TABLE "OdooSyncState" DROP COLUMN "lastPullAt",
DROP COLUMN "pullCursor",
DROP COLUMN "seenAtCursor",
ADD COLUMN     "lastErrorKind" TEXT,
ADD COLUMN     "missingFields" TEXT[];

-- CreateTable
CREATE TABLE "OdooRecordState" (
    "model" TEXT NOT NULL,
    "odooId" INTEGER NOT NULL,
    "writeDate" TEXT NOT NULL,
    "contentHash" TEXT NOT NULL,
    "error" TEXT,
    "errorAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OdooRecordState_pkey" PRIMARY KEY ("model","odooId")
);
