export type { ApplyResult } from "./apply.ts";
export {
  BasicAuth,
  describeRemote,
  GitAuth,
  GitAuthor,
  GitBinding,
  type GitBindingInput,
  HttpsTokenAuth,
  parseBinding,
  SshKeyAuth,
} from "./binding.ts";
export { describeChange, GitOpsChange, planClusterDirectory } from "./change.ts";
export { IDEMPOTENCY_KEY_TRAILER, JOB_ID_TRAILER } from "./commit-message.ts";
export {
  type ApplyChangeRequest,
  createGitOpsEngine,
  type GitOpsEngine,
  type GitOpsEngineOptions,
} from "./engine.ts";
export type { GitOpsHooks, GitOpsLogger, RetryPolicy } from "./engine-deps.ts";
export { GIT_OPS_REASONS, GitOpsError, type GitOpsReason, isGitOpsError } from "./errors.ts";
export { createPgAdvisoryLock, type PgAdvisoryLockOptions } from "./lock/pg-advisory-lock.ts";
export { createProcessLock, type RepoLock, repoLockKey } from "./lock/repo-lock.ts";
export {
  applicationFilePath,
  CLUSTER_FILE,
  clusterDirectoryPath,
  type DirectoryFiles,
  KUSTOMIZATION_FILE,
  renderClusterDirectory,
  renderKustomization,
} from "./render/cluster-directory.ts";
export {
  ApplicationInstance,
  ClusterDesiredState,
  OPERATOR_NAMESPACE,
  REGISTRATION_TOKEN_KEY,
  registrationSecretName,
  renderClusterResource,
} from "./render/resources.ts";
export { toStableYaml } from "./render/stable-yaml.ts";
export { renderRegistrationSecretCommand } from "./secret-command.ts";
export type { ValidationResult } from "./validate.ts";
