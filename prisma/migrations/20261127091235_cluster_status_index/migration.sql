-- DropIndex
DROP INDEX "Cluster_status_lastSeenAt_idx";

-- CreateIndex
CREATE INDEX "Cluster_status_idx" ON "Cluster"("status");

-- Room on each page for heartbeat updates to stay HOT (no index entry rewritten).
ALTER TABLE "Cluster" SET (fillfactor = 80);
