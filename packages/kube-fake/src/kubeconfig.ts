import { stringify } from "yaml";

export interface KubeconfigOptions {
  server: string;
  caCert: string;
  token: string;
  /** The context's default namespace. */
  namespace?: string | undefined;
  name?: string | undefined;
}

/**
 * A kubeconfig as an administrator would paste it: one cluster with inline
 * certificate-authority-data, one token user, one current context. No file paths, no exec plugins.
 */
export function buildKubeconfig(options: KubeconfigOptions) {
  const name = options.name ?? "kube-fake";
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: {
          server: options.server,
          "certificate-authority-data": Buffer.from(options.caCert).toString("base64"),
        },
      },
    ],
    users: [{ name, user: { token: options.token } }],
    contexts: [
      {
        name,
        context: {
          cluster: name,
          user: name,
          ...(options.namespace ? { namespace: options.namespace } : {}),
        },
      },
    ],
    "current-context": name,
    preferences: {},
  };
}

export type Kubeconfig = ReturnType<typeof buildKubeconfig>;

export const kubeconfigYaml = (config: Kubeconfig) => stringify(config);
