import { stringify } from "yaml";
import type { PushKubeconfig } from "../kubeconfig/types.ts";
import { DEFAULT_SERVICE_ACCOUNT } from "./render.ts";

export interface PushKubeconfigInput {
  /** The API server's URL as the control plane reaches it (https). */
  server: string;
  /** PEM of the cluster's CA (the token Secret's `ca.crt`). */
  caCertificate: string;
  /** The ServiceAccount token (the token Secret's `token`, decoded). */
  token: string;
  /** Names the cluster, user and context; the ServiceAccount's name by default. */
  name?: string;
}

/** The kubeconfig to paste into the Cluster Registry: inline CA, the server, the token, one context. */
export function renderPushKubeconfig(input: PushKubeconfigInput): PushKubeconfig {
  const name = input.name ?? DEFAULT_SERVICE_ACCOUNT;
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: {
          server: input.server,
          "certificate-authority-data": Buffer.from(input.caCertificate).toString("base64"),
        },
      },
    ],
    users: [{ name, user: { token: input.token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
  };
}

export const kubeconfigYaml = (kubeconfig: PushKubeconfig) => stringify(kubeconfig);
