import { join } from "node:path";
import type { Config, GitOpsEnginePort } from "@vwksp/core";
import {
  createGitOpsEngine,
  createProcessLock,
  type GitOpsEngine,
  type GitOpsLogger,
  registrationSecretName,
  renderRegistrationSecretCommand,
} from "@vwksp/gitops";

/**
 * The Git engine of the API: it only validates bindings before they are saved (no pushes, so a
 * process-local lock does), in a scratch folder of its own under GITOPS_WORK_DIR. Created on
 * first use: most API processes never see a PUT of a binding.
 */
export function createApiGitOpsEngine(config: Config, logger?: GitOpsLogger) {
  let engine: Promise<GitOpsEngine> | undefined;
  const get = () => {
    engine ??= createGitOpsEngine({
      workRoot: join(config.GITOPS_WORK_DIR, "api"),
      lock: createProcessLock(),
      ...(logger ? { logger } : {}),
    });
    return engine;
  };
  const port: Pick<GitOpsEnginePort, "validateBinding" | "registrationSecretCommand"> = {
    validateBinding: async (input) => (await get()).validateBinding(input),
    registrationSecretCommand: (slug, token) =>
      renderRegistrationSecretCommand({ secretName: registrationSecretName({ slug }), token }),
  };
  return {
    port,
    async close() {
      if (engine) await (await engine).close();
    },
  };
}
