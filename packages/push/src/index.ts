// Push mode's engine: what the integrator calls. See README.md for the contracts.

export {
  type ClusterClient,
  type ClusterClientOptions,
  createClusterClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from "./client/cluster-client.ts";
export { KubeStatusError, KubeTransportError, type TransportReason } from "./client/kube-errors.ts";
export {
  createPushExecutor,
  PUSH_FIELD_MANAGER,
  type PushExecutor,
  type PushExecutorDeps,
  type PushJob,
} from "./execute/executor.ts";
export { isPushRetryable, PushRetryableError, type RetryReason } from "./execute/outcome.ts";
export { intakeKubeconfig, summarize } from "./kubeconfig/intake.ts";
export { MAX_KUBECONFIG_BYTES } from "./kubeconfig/parse.ts";
export { type KubeconfigRefusalReason, KubeconfigRefusedError } from "./kubeconfig/refusal.ts";
export type { KubeconfigIntake, KubeconfigSummary, PushKubeconfig } from "./kubeconfig/types.ts";
export { kubeconfigYaml, type PushKubeconfigInput, renderPushKubeconfig } from "./rbac/kubeconfig.ts";
export {
  DEFAULT_SERVICE_ACCOUNT,
  DEFAULT_SERVICE_ACCOUNT_NAMESPACE,
  type Manifest,
  manifestsYaml,
  type PushRbacOptions,
  renderPushRbac,
} from "./rbac/render.ts";
export { CLUSTER_ACCESS, NAMESPACED_ACCESS } from "./resources.ts";
export { type AccessCheck, describeAccess, requiredAccess } from "./validate/access-review.ts";
export {
  type ValidationFailureReason,
  type ValidationOptions,
  type ValidationResult,
  validateCluster,
} from "./validate/probe.ts";
export { type BackoffPolicy, DEFAULT_BACKOFF } from "./watch/backoff.ts";
export { conditionEventKey } from "./watch/conditions.ts";
export type { PushChange, StreamHealth, WatchHealth } from "./watch/types.ts";
export { createWatchManager, type WatchManager, type WatchManagerOptions } from "./watch/watch-manager.ts";
