import { z } from "zod";
import { Condition, DnsLabel, PageQuery, Rfc3339 } from "../common.ts";
import { GitOpsBinding } from "./gitops.ts";

export const DEFAULT_ALLOWED_NAMESPACES = ["org-*", "default"];
export const DEFAULT_ALLOWED_CATALOG_ENTRIES = ["*"];
export const BUILTIN_OPERATION_TEMPLATES = [
  "backup.velero",
  "restore.velero",
  "upgrade.helm",
  "migration.helmHookJob",
  "runCommand.job",
  "runbook.workflow",
];

const CLUSTER_EXAMPLE_ID = "3f2b8c71-9a4e-4d6b-8e15-7c0a2d9f6b43";

export const ConnectivityMode = z.enum(["pull", "push", "gitops"]);
export const ClusterStatus = z.enum(["pending", "connected", "disconnected", "disabled"]);
export type ClusterStatus = z.infer<typeof ClusterStatus>;

/** A namespace name or a glob over names (`org-*`, `team-?`). */
const NamespacePattern = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$/, "must be a namespace name or a glob of one");
const CatalogPattern = z
  .string()
  .min(1)
  .max(63)
  .regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/, "must be a catalog id or *");
const TemplateName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a template name such as backup.velero");

const ClusterSettings = {
  displayName: z.string().trim().min(1).max(200),
  connectivityMode: ConnectivityMode,
  allowedNamespaces: z.array(NamespacePattern).max(200),
  allowedCatalogEntries: z.array(CatalogPattern).max(500),
  allowedOperationTemplates: z.array(TemplateName).max(100),
  signPayloads: z.boolean(),
};

export const CreateClusterBody = z
  .strictObject({
    displayName: ClusterSettings.displayName,
    slug: DnsLabel.optional(),
    connectivityMode: ClusterSettings.connectivityMode.default("pull"),
    allowedNamespaces: ClusterSettings.allowedNamespaces.default(DEFAULT_ALLOWED_NAMESPACES),
    allowedCatalogEntries: ClusterSettings.allowedCatalogEntries.default(DEFAULT_ALLOWED_CATALOG_ENTRIES),
    allowedOperationTemplates: ClusterSettings.allowedOperationTemplates.default(BUILTIN_OPERATION_TEMPLATES),
    signPayloads: ClusterSettings.signPayloads.default(false),
  })
  .meta({ id: "CreateClusterBody" });
export type CreateClusterBody = z.infer<typeof CreateClusterBody>;

export const UpdateClusterBody = z
  .strictObject({
    displayName: ClusterSettings.displayName.optional(),
    slug: DnsLabel.optional(),
    connectivityMode: ClusterSettings.connectivityMode.optional(),
    allowedNamespaces: ClusterSettings.allowedNamespaces.optional(),
    allowedCatalogEntries: ClusterSettings.allowedCatalogEntries.optional(),
    allowedOperationTemplates: ClusterSettings.allowedOperationTemplates.optional(),
    signPayloads: ClusterSettings.signPayloads.optional(),
  })
  .meta({ id: "UpdateClusterBody" });
export type UpdateClusterBody = z.infer<typeof UpdateClusterBody>;

/** The operator's Cluster custom resource, as it last reported itself. */
export const ClusterResourceRef = z
  .object({
    apiVersion: z.string(),
    namespace: z.string().nullable(),
    name: z.string(),
    uid: z.string().nullable(),
    generation: z.number().int().nullable(),
  })
  .describe("the operator's Cluster CR (`kubectl get clusters.ops.vworkspace.io -A`); null until it reports")
  .meta({ id: "ClusterResourceRef" });
export type ClusterResourceRef = z.infer<typeof ClusterResourceRef>;

/** The cluster's conditions and the worst of them in words. */
export const ClusterHealthFields = {
  conditions: z
    .array(Condition)
    .describe(
      "the cluster's health: the Cluster CR's conditions, a heartbeat's condition snapshot and this service's JobChannelHealthy, one per type",
    ),
  healthMessage: z
    .string()
    .nullable()
    .describe("the worst current condition (what Odoo's health_message shows); null when nothing is wrong"),
};

/** What a push cluster's last validation against its API server found (issue 14). */
export const PushValidationState = z
  .enum(["Pending", "Connected", "Unreachable", "TLSError", "Unauthorized", "Forbidden", "CRDMissing"])
  .describe(
    "Pending: not validated yet; Connected: /version, the CRDs, the access reviews and a list of applicationinstances succeeded; otherwise why not",
  );
export type PushValidationState = z.infer<typeof PushValidationState>;

/** A push cluster's stored kubeconfig, as it may be shown: never the token or a key. */
export const PushCredentialView = z
  .object({
    server: z.string().describe("the API server's URL"),
    context: z.string(),
    cluster: z.string(),
    user: z.string(),
    namespace: z.string().optional(),
    authentication: z.enum(["token", "client-certificate", "token+client-certificate"]),
    certificateAuthority: z
      .enum(["inline", "system"])
      .describe("inline: certificate-authority-data; system: the control plane's trusted CAs"),
    tlsServerName: z.string().optional(),
    warnings: z.array(z.string()).describe("accepted, but worth knowing"),
    validation: z.object({
      state: PushValidationState,
      message: z
        .string()
        .nullable()
        .describe("what failed, naming verb, resource and namespace where it applies"),
      kubernetesVersion: z.string().nullable(),
      validatedAt: Rfc3339.nullable(),
    }),
    updatedAt: Rfc3339.describe("when the kubeconfig was last uploaded"),
  })
  .meta({ id: "PushCredential" });
export type PushCredentialView = z.infer<typeof PushCredentialView>;

/**
 * PUT /api/v1/clusters/{id}/kubeconfig: a kubeconfig as YAML text (application/yaml) or its JSON
 * object. Its own checks (@vwksp/push intake) refuse what cannot work or is unsafe.
 */
export const KubeconfigBody = z
  .union([z.string().max(262_144), z.record(z.string(), z.unknown())])
  .describe("a kubeconfig (kind Config) with one usable context and inline credentials");

export const Cluster = z
  .object({
    id: z.string().uuid(),
    slug: z.string(),
    displayName: z.string(),
    organizationId: z.string().uuid(),
    connectivityMode: ConnectivityMode,
    allowedNamespaces: z.array(z.string()),
    allowedCatalogEntries: z.array(z.string()),
    allowedOperationTemplates: z.array(z.string()),
    signPayloads: z.boolean(),
    signingPublicKey: z.string().nullable(),
    status: ClusterStatus,
    createdAt: Rfc3339,
    updatedAt: Rfc3339,
    registeredAt: Rfc3339.nullable(),
    lastHeartbeatAt: Rfc3339.nullable(),
    lastSeenAt: Rfc3339.nullable(),
    lastPollAt: Rfc3339.nullable().describe("start of the latest authenticated job poll"),
    operatorVersion: z.string().nullable(),
    fluxVersion: z.string().nullable(),
    veleroVersion: z.string().nullable(),
    kubernetesVersion: z.string().nullable(),
    clusterResource: ClusterResourceRef.nullable(),
    ...ClusterHealthFields,
    gitops: GitOpsBinding.nullable()
      .optional()
      .describe(
        "GitOps mode: the repository binding (never its credential) and its health; only in the single-cluster view",
      ),
    push: PushCredentialView.nullable()
      .optional()
      .describe(
        "push clusters, in the single-cluster view: the stored kubeconfig's summary and its validation; null: none uploaded",
      ),
  })
  .meta({ id: "Cluster" });
export type Cluster = z.infer<typeof Cluster>;

/** A cluster's id in a path. */
export const ClusterIdParam = z
  .string()
  .uuid("cluster id must be a UUID")
  .meta({ description: "the cluster's id (also the agent's clusterId)", examples: [CLUSTER_EXAMPLE_ID] });

export const ClusterIdParams = z.object({ id: ClusterIdParam });

export const ListClustersQuery = PageQuery.extend({
  slug: z
    .string()
    .max(63)
    .optional()
    .meta({ description: "only the cluster with this slug", examples: ["acme-prod"] }),
  status: ClusterStatus.optional().describe("only clusters in this status"),
});

export const ClusterPage = z
  .object({ items: z.array(Cluster), nextCursor: z.string().nullable() })
  .meta({ id: "ClusterPage" });

export const IssueTokenBody = z
  .strictObject({ ttlSeconds: z.number().int().min(1).max(604_800).default(86_400) })
  .meta({ id: "IssueTokenBody" });

export const IssuedToken = z
  .object({
    token: z.string(),
    tokenId: z.string(),
    expiresAt: Rfc3339,
    secretCommand: z
      .string()
      .optional()
      .describe(
        "GitOps clusters: the `kubectl create secret generic …` line that puts the token where the Cluster CR in Git points (the token never goes into Git)",
      ),
  })
  .meta({ id: "IssuedToken" });
export type IssuedToken = z.infer<typeof IssuedToken>;

export const RegistrationTokenInfo = z
  .object({
    id: z.string(),
    createdAt: Rfc3339,
    expiresAt: Rfc3339,
    consumedAt: Rfc3339.nullable(),
    revokedAt: Rfc3339.nullable(),
    status: z.enum(["active", "consumed", "revoked", "expired"]),
  })
  .meta({ id: "RegistrationTokenInfo" });
export type RegistrationTokenInfo = z.infer<typeof RegistrationTokenInfo>;

export const TokenParams = z.object({
  id: ClusterIdParam,
  tokenId: z
    .string()
    .regex(/^[0-9a-f]{16}$/, "token id is 16 hex characters")
    .meta({
      description: "the registration token's id (tokenId when it was issued)",
      examples: ["4f9a2c7e81b3d605"],
    }),
});
