-- CreateTable
CREATE TABLE "JobIdempotencyKey" (
    "clusterId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobIdempotencyKey_pkey" PRIMARY KEY ("clusterId","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "JobIdempotencyKey_jobId_key" ON "JobIdempotencyKey"("jobId");

-- AddForeignKey
ALTER TABLE "JobIdempotencyKey" ADD CONSTRAINT "JobIdempotencyKey_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;
