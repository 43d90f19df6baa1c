// Examples and descriptions for the OpenAPI document (refineDocument builds each component's
// example from its schema and these hints, then checks it against the zod schema). One story runs
// through them: organization Acme, its cluster acme-prod, Vaultwarden deployed into org-acme.

// biome-ignore lint/suspicious/noExplicitAny: examples are plain JSON
type Json = any;

const ORGANIZATION_ID = "0b7e4c1a-2f9d-4e8b-a6c3-91d5f0e2b7a4";
const CLUSTER_ID = "3f2b8c71-9a4e-4d6b-8e15-7c0a2d9f6b43";
const API_KEY_ID = "8d4e2a19-6c3b-4f70-9a58-e1b7c0d3f2a6";
const JOB_ID = "j-01JTQ8Z6V4K2N9M3B7C5X1R0PD";
/** A well-formed registration token: lookup id, secret, CRC32 of both. */
const REGISTRATION_TOKEN = "vwksp-reg-4f9a2c7e81b3d605a3c9e17f52b8d40c6e9f1a7b3d5c8e2f40a6b9c1aaea3973";
const AGENT_CREDENTIAL = "vwksp-agt-9c2e5a7f1b3d4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a4b6c8d0e1f";
const API_KEY = "vwksp-key-5b8e1f4a7c0d3e6f9a2b5c8d1e4f7a0b3c6d9e2f5a8b1c4d";
const CREATED = "2026-05-04T09:30:00Z";
const UPDATED = "2026-05-04T09:41:12Z";
const REPORTED = "2026-05-04T09:41:07.512Z";
const EXPIRES = "2026-05-05T09:30:00Z";
const APPLICATION_REF = {
  apiVersion: "apps.vworkspace.io/v1alpha1",
  kind: "ApplicationInstance",
  namespace: "org-acme",
  name: "vaultwarden",
  uid: "b2d4f6a8-1c3e-4a5b-9d7f-0e2c4a6b8d1f",
  generation: 1,
};
const READY = {
  type: "Ready",
  status: "True",
  reason: "ReconciliationSucceeded",
  message: "Helm release vaultwarden is deployed",
  lastTransitionTime: REPORTED,
  observedGeneration: 1,
};
const VAULTWARDEN_CHART = {
  sourceType: "helm",
  url: "https://guerzon.github.io/vaultwarden",
  name: "vaultwarden",
  version: "0.31.8",
};

/** Short descriptions of components; a success answer is described by its body's component. */
export const COMPONENT_DESCRIPTIONS: Record<string, string> = {
  AgentEvent: "Something the agent saw in the cluster: a heartbeat or a condition change of one object",
  AgentJob: "A job handed to the agent",
  ApiKeyList: "The organization's API keys",
  ApiKeyView: "An API key without its secret",
  ApplicationView: "An application deployed (or being deployed) into the cluster",
  AuditPage: "A page of audit entries, newest first",
  AuditView: "What an admin, an agent or the service did",
  CatalogEntry: "A deployable application of the catalog",
  CatalogEntryBody: "A catalog entry's content",
  ChartRef: "The Helm chart an application is installed from",
  Cluster: "The cluster identity and what its agent last reported",
  ClusterHealth: "The cluster's health: conditions, versions, job channel and open jobs",
  ClusterPage: "A page of clusters, newest first",
  Condition: "A Kubernetes condition (metav1.Condition)",
  CreateApiKeyBody: "A new API key",
  CreateCatalogEntryBody: "A new catalog entry",
  CreateClusterBody: "A new cluster identity; only displayName is required",
  CreateJobBody: "A raw job for the cluster's agent",
  CreateOrganizationBody: "A new organization",
  CreatedApiKey: "The new API key with its secret, shown only in this answer",
  DeployApplicationBody: "What to deploy: a catalog entry, where, and its values",
  ErrorEnvelope: "The body of every error answer",
  EventPage: "A page of the cluster's events, newest first",
  EventView: "An event the agent reported",
  EventsBody: "A batch of up to 1,000 events",
  IssueTokenBody: "How long the registration token lives",
  IssuedToken: "The registration token, shown only in this answer; hand it to the agent",
  JobAccepted: "The job was queued for the cluster's agent",
  JobPage: "A page of the cluster's jobs, newest first",
  JobResultBody: "How the job ended",
  JobStatusBody: "Progress of a job between ack and result",
  JobStatusView: "A progress report the agent posted for the job",
  JobView: "A job and its progress",
  JobsResponse: "Jobs for the agent; an empty list when none arrived while the poll waited",
  ObjectRef: "A Kubernetes object reference",
  OdooStatus: "Where the Odoo bridge stands",
  Organization: "An organization",
  Principal: "The API key making the request",
  RegisterBody: "The registration request (the token may travel in the Authorization header instead)",
  RegisterResponse: "The cluster's agent credential",
  RegistrationTokenInfo: "A registration token without its secret",
  RequestOperationBody: "An operation (backup, restore, upgrade, …) on an application",
  ResourceView: "The last reported status of one Kubernetes object",
  RotateApiKeyBody: "How the rotation overlaps",
  RotateResponse: "The new agent credential",
  RotatedApiKey: "The replacement API key with its secret, shown only in this answer",
  UpdateClusterBody: "The settings to change; the others stay as they are",
};

/**
 * Example values by property, `Component.property` first, then `property`. Optional properties
 * appear in an example only when they have a hint here.
 */
export const EXAMPLE_HINTS: Record<string, Json> = {
  // Identities
  "AgentJob.id": JOB_ID,
  "ApiKeyView.id": API_KEY_ID,
  "CreatedApiKey.id": API_KEY_ID,
  "RotatedApiKey.id": "c7a1e3f5-2b4d-4c6e-8f0a-1b3d5f7a9c2e",
  "AuditView.id": "48213",
  "CatalogEntry.id": "vaultwarden",
  "CreateCatalogEntryBody.id": "vaultwarden",
  "Cluster.id": CLUSTER_ID,
  "EventView.id": "913377",
  "JobView.id": JOB_ID,
  "JobAccepted.id": JOB_ID,
  "Organization.id": ORGANIZATION_ID,
  "RegistrationTokenInfo.id": "4f9a2c7e81b3d605",
  organizationId: ORGANIZATION_ID,
  clusterId: CLUSTER_ID,
  keyId: API_KEY_ID,
  jobId: JOB_ID,
  lastJobId: JOB_ID,
  tokenId: "4f9a2c7e81b3d605",
  replacedById: null,
  "RotatedApiKey.replacedById": null,
  // Secrets, in the shapes the service issues
  "IssuedToken.token": REGISTRATION_TOKEN,
  registrationToken: REGISTRATION_TOKEN,
  "RegisterResponse.token": AGENT_CREDENTIAL,
  "RotateResponse.token": AGENT_CREDENTIAL,
  key: API_KEY,
  signingPublicKey: null,
  "RegisterResponse.signingPublicKey": undefined,
  signature: undefined,
  "JobView.signature": null,
  // Times (RFC 3339)
  createdAt: CREATED,
  updatedAt: UPDATED,
  expiresAt: EXPIRES,
  "ApiKeyView.expiresAt": null,
  "CreatedApiKey.expiresAt": null,
  "RotatedApiKey.expiresAt": null,
  "CreateApiKeyBody.expiresAt": "2027-05-04T00:00:00Z",
  "RotateApiKeyBody.expiresAt": undefined,
  previousKeyEndsAt: "2026-05-04T09:35:00Z",
  registeredAt: "2026-05-04T09:33:41Z",
  lastHeartbeatAt: REPORTED,
  lastSeenAt: "2026-05-04T09:41:10.204Z",
  lastPollAt: "2026-05-04T09:41:10.204Z",
  lastUsedAt: "2026-05-04T09:41:00Z",
  timestamp: REPORTED,
  receivedAt: "2026-05-04T09:41:07.689Z",
  consumedAt: "2026-05-04T09:33:41Z",
  revokedAt: null,
  readyAt: "2026-05-04T09:36:02.118Z",
  deliveredAt: "2026-05-04T09:36:02.430Z",
  ackedAt: "2026-05-04T09:36:02.871Z",
  leaseExpiresAt: null,
  finishedAt: "2026-05-04T09:36:15.004Z",
  deployedAt: "2026-05-04T09:38:20.511Z",
  deletedAt: null,
  lastTransitionTime: REPORTED,
  lastPushAt: "2026-05-04T09:40:00Z",
  lastPullAt: "2026-05-04T09:41:00Z",
  lastReconcileAt: "2026-05-04T06:00:00Z",
  lastErrorAt: null,
  since: "2026-05-04T08:12:44Z",
  lastAt: "2026-05-04T09:12:30Z",
  // Clusters
  displayName: "Acme production",
  "RegisterBody.displayName": undefined,
  slug: "acme-prod",
  "Organization.slug": "acme",
  "CreateOrganizationBody.slug": "acme",
  "Organization.name": "Acme Corp",
  "CreateOrganizationBody.name": "Acme Corp",
  status: "connected",
  "ApiKeyView.status": "active",
  "CreatedApiKey.status": "active",
  "RotatedApiKey.status": "active",
  "RegistrationTokenInfo.status": "consumed",
  "Condition.status": "True",
  allowedNamespaces: ["org-*", "default"],
  allowedCatalogEntries: ["*"],
  allowedOperationTemplates: ["backup.velero", "restore.velero", "upgrade.helm"],
  operatorVersion: "v0.9.2",
  fluxVersion: "v2.6.1",
  veleroVersion: "v1.16.0",
  kubernetesVersion: "v1.32.4",
  clusterResource: {
    apiVersion: "ops.vworkspace.io/v1alpha1",
    namespace: "vworkspace-system",
    name: "acme-prod",
    uid: "5e7a9c1b-3d5f-4a7c-9e1b-2d4f6a8c0e3b",
    generation: 3,
  },
  "ClusterResourceRef.namespace": "vworkspace-system",
  "ClusterResourceRef.name": "acme-prod",
  "ClusterResourceRef.apiVersion": "ops.vworkspace.io/v1alpha1",
  conditions: [READY],
  "ClusterHealth.conditions": [
    { ...READY, reason: "AgentReporting", message: "the agent is polling and reporting" },
  ],
  "Cluster.conditions": [
    { ...READY, reason: "AgentReporting", message: "the agent is polling and reporting" },
  ],
  healthMessage: null,
  versions: { operator: "v0.9.2", flux: "v2.6.1", velero: "v1.16.0", kubernetes: "v1.32.4" },
  staleAfterSeconds: 180,
  pollAuthFailures: [],
  openJobs: { queued: 0, ready: 1, leased: 0, acked: 0 },
  ttlSeconds: 86_400,
  // GitOps mode
  "GitOpsAuthor.name": "vWorkspace control plane",
  "GitOpsAuthor.email": "gitops@acme.example.com",
  "PutGitOpsBindingBody.url": "https://git.acme.example.com/platform/fleet.git",
  "PutGitOpsBindingBody.branch": "main",
  "PutGitOpsBindingBody.path": "clusters",
  "PutGitOpsBindingBody.auth": { type: "https-token", token: "glpat-4vKq9xT2mWbR8nZ1pLcY" },
  "GitOpsHttpsTokenAuth.token": "glpat-4vKq9xT2mWbR8nZ1pLcY",
  "GitOpsHttpsTokenAuth.username": undefined,
  "GitOpsBasicAuth.username": "fleet-bot",
  "GitOpsBasicAuth.password": "s3cret-app-password",
  "GitOpsSshKeyAuth.privateKey":
    "-----BEGIN OPENSSH PRIVATE KEY-----\n…\n-----END OPENSSH PRIVATE KEY-----\n",
  "GitOpsSshKeyAuth.knownHosts":
    "git.acme.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "GitOpsBinding.url": "https://git.acme.example.com/platform/fleet.git",
  "GitOpsBinding.branch": "main",
  "GitOpsBinding.path": "clusters",
  "GitOpsBinding.authType": "https-token",
  "GitOpsBinding.author": { name: "vWorkspace control plane", email: "gitops@acme.example.com" },
  "GitOpsBinding.directory": "clusters/acme-prod",
  "GitOpsBindingHealth.lastError": null,
  headCommit: "9f2c4e1a7b3d5f6e8a0c2b4d6f8e0a1c3b5d7f9e",
  gitCommit: "9f2c4e1a7b3d5f6e8a0c2b4d6f8e0a1c3b5d7f9e",
  "JobView.gitCommit": undefined,
  "Cluster.gitops": undefined,
  "IssuedToken.secretCommand": undefined,
  // Catalog and applications
  catalogId: "vaultwarden",
  "CatalogEntry.name": "Vaultwarden",
  "CatalogEntryBody.name": "Vaultwarden",
  "CreateCatalogEntryBody.name": "Vaultwarden",
  chart: VAULTWARDEN_CHART,
  "ChartRef.sourceType": "helm",
  "ChartRef.url": VAULTWARDEN_CHART.url,
  "ChartRef.name": "vaultwarden",
  "ChartRef.version": "0.31.8",
  defaultValues: {},
  overridesShared: false,
  namespace: "org-acme",
  "ApplicationView.name": "vaultwarden",
  "DeployApplicationBody.name": "vaultwarden",
  "RequestOperationBody.name": "vaultwarden",
  hostname: "vault.acme.example.com",
  values: { domain: "https://vault.acme.example.com" },
  generation: 1,
  state: "succeeded",
  "ApplicationView.state": "deployed",
  "PushCredential.validation": {
    state: "Connected",
    message: null,
    kubernetesVersion: "v1.31.2",
    validatedAt: "2026-05-04T09:41:13Z",
  },
  "PushCredential.server": "https://203.0.113.10:6443",
  "PushCredential.context": "vworkspace-control-plane",
  "PushCredential.cluster": "acme-production",
  "PushCredential.user": "vworkspace-control-plane",
  "PushCredential.warnings": [],
  "Cluster.push": undefined,
  "JobAccepted.state": "queued",
  stateReason: null,
  template: "backup.velero",
  parameters: { ttl: "720h" },
  // Jobs
  kind: "apply",
  "AgentEvent.kind": "ConditionTransition",
  "EventView.kind": "ConditionTransition",
  "AuditView.kind": "application.deploy",
  "ResourceView.kind": "ApplicationInstance",
  "ObjectRef.kind": "ApplicationInstance",
  idempotencyKey: "applicationinstance/org-acme/vaultwarden@1",
  "CreateJobBody.idempotencyKey": "odoo-sale-order-1042",
  payload: {
    apiVersion: "apps.vworkspace.io/v1alpha1",
    kind: "ApplicationInstance",
    metadata: { namespace: "org-acme", name: "vaultwarden" },
    spec: { catalogId: "vaultwarden", chart: VAULTWARDEN_CHART },
  },
  deliveries: 1,
  outcome: "succeeded",
  error: null,
  "JobResultBody.error": undefined,
  "ErrorEnvelope.error": "not_found",
  appliedRef: APPLICATION_REF,
  resourceRef: APPLICATION_REF,
  statuses: [],
  phase: "Applying",
  message: null,
  "JobStatusBody.message": "helm install vaultwarden 0.31.8",
  "JobStatusView.message": "helm install vaultwarden 0.31.8",
  "ErrorEnvelope.message": `cluster ${CLUSTER_ID} not found`,
  "OdooRecordError.message": "allowed_namespaces: org acme* is not a namespace name or a glob of one",
  "Condition.message": READY.message,
  "Condition.reason": READY.reason,
  "Condition.type": "Ready",
  "ObjectRef.apiVersion": APPLICATION_REF.apiVersion,
  "ObjectRef.namespace": APPLICATION_REF.namespace,
  "ObjectRef.name": APPLICATION_REF.name,
  "ObjectRef.uid": APPLICATION_REF.uid,
  "ResourceView.apiVersion": APPLICATION_REF.apiVersion,
  "ResourceView.name": "vaultwarden",
  "ResourceView.uid": APPLICATION_REF.uid,
  ready: true,
  eventKey: "b2d4f6a8-1c3e-4a5b-9d7f-0e2c4a6b8d1f/Ready/1",
  nextCursor: null,
  requestId: "rq-3fa85f64c2d100000042",
  // API keys
  name: "Odoo production",
  scopes: ["clusters:read", "clusters:write", "jobs:read", "jobs:write"],
  overlapSeconds: 300,
  // Audit
  source: "user",
  "AuditView.source": "user",
  "CatalogEntry.source": "shared",
  actor: API_KEY_ID,
  data: { namespace: "org-acme", name: "vaultwarden", catalogId: "vaultwarden", jobId: JOB_ID },
  // Odoo
  enabled: true,
  protocol: "json-2",
  serverVersion: "18.0",
  pending: 0,
  lastError: null,
  model: "vworkspace.cluster",
  cursor: "2026-05-04 09:40:57",
  direction: "pull",
  odooId: 42,
  missingFields: [],
  recordErrors: [],
  recordErrorCount: 0,
  // Odoo's webhook body
  _model: "vworkspace.cluster",
  _id: 42,
  _action: "Send Webhook Notification",
};

/** Error bodies by status, as the service sends them. */
export const ERROR_EXAMPLES: Record<number, Json> = {
  400: {
    error: "invalid_request",
    message: 'body: unknown field "allowedNamespace" (did you mean "allowedNamespaces"?)',
    requestId: "rq-3fa85f64c2d100000042",
  },
  401: { error: "unauthorized", message: "invalid or revoked API key", requestId: "rq-3fa85f64c2d100000043" },
  403: {
    error: "insufficient_scope",
    message: "this API key lacks the scope clusters:write",
    requestId: "rq-3fa85f64c2d100000044",
  },
  404: {
    error: "not_found",
    message: `cluster ${CLUSTER_ID} not found`,
    requestId: "rq-3fa85f64c2d100000045",
  },
  409: { error: "cluster_disabled", message: "cluster is disabled", requestId: "rq-3fa85f64c2d100000046" },
  413: {
    error: "payload_too_large",
    message: "Request body is too large",
    requestId: "rq-3fa85f64c2d100000047",
  },
  415: {
    error: "unsupported_media_type",
    message: "Unsupported Media Type: text/plain",
    requestId: "rq-3fa85f64c2d100000048",
  },
  429: {
    error: "rate_limited",
    message: "too many failed attempts from this address or for this credential, retry later",
    requestId: "rq-3fa85f64c2d100000049",
  },
  500: { error: "internal", message: "internal server error", requestId: "rq-3fa85f64c2d10000004a" },
  503: {
    error: "unavailable",
    message: "a backing service is unavailable, retry later",
    requestId: "rq-3fa85f64c2d10000004b",
  },
};

const agentError = (error: string, message: string, requestId = "rq-3fa85f64c2d100000050") => ({
  error,
  message,
  requestId,
});

/** The agent API's own refusals where they differ from ERROR_EXAMPLES. */
export const AGENT_ERROR_EXAMPLES: Record<number, Json> = {
  401: agentError("unauthorized", "missing or invalid credentials"),
  403: agentError("cluster_disabled", "this cluster is disabled"),
};

/** The cluster a create answers: pending until its agent registers. */
const NEW_CLUSTER = {
  id: CLUSTER_ID,
  slug: "acme-production",
  displayName: "Acme production",
  organizationId: ORGANIZATION_ID,
  connectivityMode: "pull",
  allowedNamespaces: ["org-*", "default"],
  allowedCatalogEntries: ["*"],
  allowedOperationTemplates: [
    "backup.velero",
    "restore.velero",
    "upgrade.helm",
    "migration.helmHookJob",
    "runCommand.job",
    "runbook.workflow",
  ],
  signPayloads: false,
  signingPublicKey: null,
  status: "pending",
  createdAt: CREATED,
  updatedAt: CREATED,
  registeredAt: null,
  lastHeartbeatAt: null,
  lastSeenAt: null,
  lastPollAt: null,
  operatorVersion: null,
  fluxVersion: null,
  veleroVersion: null,
  kubernetesVersion: null,
  clusterResource: null,
  conditions: [],
  healthMessage: null,
};

/** Per operation: a request or answer example other than the component's, or an error's. */
export const OPERATION_EXAMPLES: Record<
  string,
  { request?: Json; response?: Json; errors?: Record<number, Json> }
> = {
  createCluster: { request: { displayName: "Acme production" }, response: NEW_CLUSTER },
  updateCluster: { request: { allowedNamespaces: ["org-acme", "org-acme-*"] } },
  issueRegistrationToken: { request: { ttlSeconds: 86_400 } },
  putClusterKubeconfig: {
    request: {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "acme-production",
          cluster: { server: "https://203.0.113.10:6443", "certificate-authority-data": "LS0tLS1CRUdJTi..." },
        },
      ],
      users: [{ name: "vworkspace-control-plane", user: { token: "eyJhbGciOiJSUzI1NiIs..." } }],
      contexts: [
        {
          name: "vworkspace-control-plane",
          context: { cluster: "acme-production", user: "vworkspace-control-plane" },
        },
      ],
      "current-context": "vworkspace-control-plane",
    },
  },
  deployApplication: {
    request: {
      catalogId: "vaultwarden",
      namespace: "org-acme",
      name: "vaultwarden",
      hostname: "vault.acme.example.com",
    },
  },
  agentRegister: {
    request: { registrationToken: REGISTRATION_TOKEN, clusterId: CLUSTER_ID },
    errors: {
      401: agentError("unauthorized", "registration token is unknown, expired, revoked or already used"),
      403: agentError("cluster_mismatch", "the registration token is bound to another cluster identity"),
    },
  },
  agentPollJobs: {
    errors: {
      403: agentError(
        "cluster_mismatch",
        "the cluster query parameter does not match this credential's cluster",
      ),
    },
  },
  readyz: {
    errors: {
      503: { error: "not_ready", message: "Redis unreachable", requestId: "rq-3fa85f64c2d100000051" },
    },
  },
};
