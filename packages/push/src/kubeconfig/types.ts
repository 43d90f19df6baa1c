/**
 * The kubeconfig push mode stores (sealed by the caller): one cluster, one user, one context, in
 * the standard kubeconfig shape so `kubectl --kubeconfig` reads it too, and nothing that reads
 * files, runs programs or skips TLS verification.
 */
export interface PushKubeconfig {
  apiVersion: "v1";
  kind: "Config";
  clusters: [
    {
      name: string;
      cluster: {
        server: string;
        /** Base64 PEM; absent: the system's trusted CAs verify the server. */
        "certificate-authority-data"?: string;
        "tls-server-name"?: string;
      };
    },
  ];
  users: [
    {
      name: string;
      user: {
        token?: string;
        /** Base64 PEM, always with its key. */
        "client-certificate-data"?: string;
        "client-key-data"?: string;
      };
    },
  ];
  contexts: [{ name: string; context: { cluster: string; user: string; namespace?: string } }];
  "current-context": string;
}

/** What may be shown and logged about a stored kubeconfig: no token, no key. */
export interface KubeconfigSummary {
  server: string;
  context: string;
  cluster: string;
  user: string;
  namespace?: string;
  authentication: "token" | "client-certificate" | "token+client-certificate";
  /** `inline`: certificate-authority-data; `system`: the host's trusted CAs. */
  certificateAuthority: "inline" | "system";
  tlsServerName?: string;
}

export interface KubeconfigIntake {
  kubeconfig: PushKubeconfig;
  summary: KubeconfigSummary;
  /** Accepted but worth telling the administrator. */
  warnings: string[];
}
