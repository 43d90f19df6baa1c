-- CreateEnum
CREATE TYPE "ConnectivityMode" AS ENUM ('pull', 'push', 'gitops');

-- CreateEnum
CREATE TYPE "ClusterStatus" AS ENUM ('pending', 'connected', 'disconnected', 'disabled');

-- CreateEnum
CREATE TYPE "JobKind" AS ENUM ('apply', 'delete', 'intent');

-- CreateEnum
CREATE TYPE "JobState" AS ENUM ('queued', 'ready', 'leased', 'acked', 'succeeded', 'failed', 'noop', 'conflict', 'expired', 'cancelled', 'undeliverable');

-- CreateEnum
CREATE TYPE "AuditSource" AS ENUM ('user', 'agent', 'system');

-- CreateTable
CREATE TABLE "Organization" (
    "id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Organization_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "scopes" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Cluster" (
    "id" UUID NOT NULL,
    "organizationId" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "connectivityMode" "ConnectivityMode" NOT NULL DEFAULT 'pull',
    "allowedNamespaces" TEXT[],
    "allowedCatalogEntries" TEXT[],
    "allowedOperationTemplates" TEXT[],
    "status" "ClusterStatus" NOT NULL DEFAULT 'pending',
    "signPayloads" BOOLEAN NOT NULL DEFAULT false,
    "signingPublicKey" TEXT,
    "signingPrivateKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "registeredAt" TIMESTAMP(3),
    "disabledAt" TIMESTAMP(3),
    "lastHeartbeatAt" TIMESTAMP(3),
    "lastSeenAt" TIMESTAMP(3),
    "operatorVersion" TEXT,
    "fluxVersion" TEXT,
    "veleroVersion" TEXT,
    "kubernetesVersion" TEXT,
    "conditions" JSONB,
    "odooRecordId" INTEGER,
    "odooPushedAt" TIMESTAMP(3),

    CONSTRAINT "Cluster_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RegistrationToken" (
    "id" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "secretHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "consumedAt" TIMESTAMP(3),
    "consumedFromAddress" TEXT,
    "revokedAt" TIMESTAMP(3),
    "createdByKeyId" UUID,

    CONSTRAINT "RegistrationToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentCredential" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "rotatedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "AgentCredential_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CatalogEntry" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "chart" JSONB NOT NULL,
    "defaultValues" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CatalogEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Application" (
    "id" UUID NOT NULL,
    "clusterId" UUID NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "catalogId" TEXT NOT NULL,
    "generation" INTEGER NOT NULL DEFAULT 1,
    "state" TEXT NOT NULL DEFAULT 'requested',
    "stateReason" TEXT,
    "lastJobId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "deployedAt" TIMESTAMP(3),

    CONSTRAINT "Application_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Job" (
    "id" TEXT NOT NULL,
    "clusterId" UUID NOT NULL,
    "kind" "JobKind" NOT NULL,
    "payload" JSONB NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "signature" TEXT,
    "state" "JobState" NOT NULL DEFAULT 'queued',
    "deliveries" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "readyAt" TIMESTAMP(3),
    "leaseExpiresAt" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),
    "ackedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "error" TEXT,
    "appliedRef" JSONB,
    "requestedByKeyId" UUID,

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobStatusUpdate" (
    "id" BIGSERIAL NOT NULL,
    "jobId" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "conditions" JSONB NOT NULL DEFAULT '[]',
    "message" TEXT,
    "timestamp" TIMESTAMP(3) NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobStatusUpdate_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentEvent" (
    "id" BIGSERIAL NOT NULL,
    "clusterId" UUID NOT NULL,
    "eventKey" TEXT,
    "kind" TEXT NOT NULL,
    "resourceRef" JSONB NOT NULL,
    "resourceKind" TEXT,
    "resourceName" TEXT,
    "conditions" JSONB NOT NULL DEFAULT '[]',
    "timestamp" TIMESTAMP(3) NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResourceStatus" (
    "id" BIGSERIAL NOT NULL,
    "clusterId" UUID NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "namespace" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "uid" TEXT,
    "generation" INTEGER,
    "conditions" JSONB NOT NULL DEFAULT '[]',
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ResourceStatus_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEntry" (
    "id" BIGSERIAL NOT NULL,
    "organizationId" UUID,
    "clusterId" UUID,
    "source" "AuditSource" NOT NULL,
    "kind" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OdooSyncState" (
    "id" TEXT NOT NULL,
    "pullCursor" TEXT,
    "seenAtCursor" INTEGER[],
    "serverVersion" TEXT,
    "protocol" TEXT,
    "lastPushAt" TIMESTAMP(3),
    "lastPullAt" TIMESTAMP(3),
    "lastError" TEXT,
    "lastErrorAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OdooSyncState_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Organization_slug_key" ON "Organization"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE INDEX "ApiKey_organizationId_idx" ON "ApiKey"("organizationId");

-- CreateIndex
CREATE INDEX "Cluster_status_lastSeenAt_idx" ON "Cluster"("status", "lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "Cluster_organizationId_slug_key" ON "Cluster"("organizationId", "slug");

-- CreateIndex
CREATE INDEX "RegistrationToken_clusterId_createdAt_idx" ON "RegistrationToken"("clusterId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AgentCredential_tokenHash_key" ON "AgentCredential"("tokenHash");

-- CreateIndex
CREATE INDEX "AgentCredential_clusterId_idx" ON "AgentCredential"("clusterId");

-- CreateIndex
CREATE UNIQUE INDEX "Application_clusterId_namespace_name_key" ON "Application"("clusterId", "namespace", "name");

-- CreateIndex
CREATE INDEX "Job_clusterId_state_createdAt_idx" ON "Job"("clusterId", "state", "createdAt");

-- CreateIndex
CREATE INDEX "Job_state_leaseExpiresAt_idx" ON "Job"("state", "leaseExpiresAt");

-- CreateIndex
CREATE INDEX "JobStatusUpdate_jobId_id_idx" ON "JobStatusUpdate"("jobId", "id");

-- CreateIndex
CREATE INDEX "AgentEvent_clusterId_id_idx" ON "AgentEvent"("clusterId", "id");

-- CreateIndex
CREATE INDEX "AgentEvent_receivedAt_idx" ON "AgentEvent"("receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "AgentEvent_clusterId_eventKey_key" ON "AgentEvent"("clusterId", "eventKey");

-- CreateIndex
CREATE UNIQUE INDEX "ResourceStatus_clusterId_apiVersion_kind_namespace_name_key" ON "ResourceStatus"("clusterId", "apiVersion", "kind", "namespace", "name");

-- CreateIndex
CREATE INDEX "AuditEntry_organizationId_id_idx" ON "AuditEntry"("organizationId", "id");

-- CreateIndex
CREATE INDEX "AuditEntry_clusterId_id_idx" ON "AuditEntry"("clusterId", "id");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Cluster" ADD CONSTRAINT "Cluster_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RegistrationToken" ADD CONSTRAINT "RegistrationToken_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentCredential" ADD CONSTRAINT "AgentCredential_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Application" ADD CONSTRAINT "Application_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobStatusUpdate" ADD CONSTRAINT "JobStatusUpdate_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AgentEvent" ADD CONSTRAINT "AgentEvent_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceStatus" ADD CONSTRAINT "ResourceStatus_clusterId_fkey" FOREIGN KEY ("clusterId") REFERENCES "Cluster"("id") ON DELETE CASCADE ON UPDATE CASCADE;
