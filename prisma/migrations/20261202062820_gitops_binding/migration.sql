-- AlterTable
ALTER TABLE "Cluster" ADD COLUMN     "gitRepository" JSONB;

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "gitCommit" TEXT;

-- CreateTable
CREATE TABLE "GitOpsBinding" (
    "clusterId" UUID NOT NULL,
    "url" TEXT NOT NULL,
    "branch" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "createBranch" BOOLEAN NOT NULL DEFAULT false,
    "authType" TEXT NOT NULL,
    "sealedCredential" TEXT NOT NULL,
    "authorName" TEXT NOT NULL,
    "authorEmail" TEXT NOT NULL,
    "healthy" BOOLEAN NOT NULL DEFAULT true,
    "lastPushAt" TIMESTAMP(3),
    "lastError" TEXT,
    "lastErrorAt" TIMESTAMP(3),
    "headCommit" TEXT,
    "initializedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GitOpsBinding_pkey" PRIMARY KEY ("clusterId")
);

-- AddForeignKey
ALTER TABLE "GitOpsBinding" ADD CONSTRAINT "GitOpsBinding_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
