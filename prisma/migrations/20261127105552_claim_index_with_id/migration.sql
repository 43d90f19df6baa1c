-- DropIndex
DROP INDEX "Job_clusterId_state_createdAt_idx";

-- CreateIndex
CREATE INDEX "Job_clusterId_state_createdAt_id_idx" ON "Job"("clusterId", "state", "createdAt", "id");
