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
export { GIT_OPS_REASONS, GitOpsError, type GitOpsReason, isGitOpsError } from "./errors.ts";
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
