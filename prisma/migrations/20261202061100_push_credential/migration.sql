-- CreateTable
CREATE TABLE "PushCredential" (
    "clusterId" UUID NOT NULL,
    "sealedKubeconfig" TEXT NOT NULL,
    "summary" JSONB NOT NULL,
    "warnings" TEXT[],
    "validationReason" TEXT,
    "validationMessage" TEXT,
    "kubernetesVersion" TEXT,
    "validatedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PushCredential_pkey" PRIMARY KEY ("clusterId")
);

-- AddForeignKey
ALTER TABLE "PushCredential" ADD CONSTRAINT "PushCredential_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
