-- CreateIndex
CREATE INDEX "Job_clusterId_idempotencyKey_idx" ON "Job"("clusterId", "idempotencyKey");
