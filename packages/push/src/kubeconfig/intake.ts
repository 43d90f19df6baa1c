import { checkCluster, checkUser, namedEntries } from "./entries.ts";
import { type Json, parseKubeconfigText } from "./parse.ts";
import { refuse } from "./refusal.ts";
import type { KubeconfigIntake, KubeconfigSummary, PushKubeconfig } from "./types.ts";

/** Names are echoed in messages: bounded, so a pasted blob cannot make a message of it. */
const quote = (name: string) => JSON.stringify(name.length > 63 ? `${name.slice(0, 60)}...` : name);

/** The context push mode uses: `current-context`, or the only one there is. */
function selectContext(document: Json) {
  const contexts = namedEntries(document, "contexts", "context");
  const current = typeof document["current-context"] === "string" ? document["current-context"].trim() : "";
  if (current) {
    const chosen = contexts.find((context) => context.name === current);
    if (!chosen) {
      throw refuse(
        "ContextNotFound",
        `current-context ${quote(current)} is not among the contexts`,
        "current-context",
      );
    }
    return chosen;
  }
  const [only, ...others] = contexts;
  if (!only) throw refuse("NoContext", "the kubeconfig has no context", "contexts");
  if (others.length > 0) {
    throw refuse(
      "AmbiguousContext",
      `the kubeconfig has ${contexts.length} contexts and no current-context: set current-context or keep one context`,
      "current-context",
    );
  }
  return only;
}

function pick(
  document: Json,
  list: "clusters" | "users",
  key: "cluster" | "user",
  name: unknown,
  at: string,
) {
  const found = namedEntries(document, list, key).find((entry) => entry.name === name);
  if (typeof name !== "string" || !found) {
    throw refuse(
      "ContextNotFound",
      `the context's ${key} ${quote(String(name ?? ""))} is not among the ${list}`,
      at,
    );
  }
  return found;
}

/**
 * Reads an uploaded kubeconfig (YAML or JSON text, or the parsed object) and returns the minimal
 * kubeconfig to store, a summary that is safe to show, and warnings; refuses what cannot work
 * or is unsafe with a KubeconfigRefusedError (a 400 with its reason code).
 */
export function intakeKubeconfig(input: string | Json): KubeconfigIntake {
  const document = parseKubeconfigText(input);
  const context = selectContext(document);
  const cluster = pick(document, "clusters", "cluster", context.entry.cluster, `${context.at}.cluster`);
  const user = pick(document, "users", "user", context.entry.user, `${context.at}.user`);
  const clusterEntry = checkCluster(cluster.entry, cluster.at);
  const userEntry = checkUser(user.entry, user.at);
  const namespace = typeof context.entry.namespace === "string" ? context.entry.namespace.trim() : "";

  const kubeconfig: PushKubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster.name, cluster: clusterEntry }],
    users: [{ name: user.name, user: userEntry }],
    contexts: [
      {
        name: context.name,
        context: { cluster: cluster.name, user: user.name, ...(namespace ? { namespace } : {}) },
      },
    ],
    "current-context": context.name,
  };
  return { kubeconfig, summary: summarize(kubeconfig), warnings: warningsFor(kubeconfig) };
}

export function summarize(kubeconfig: PushKubeconfig): KubeconfigSummary {
  const [{ name: cluster, cluster: clusterEntry }] = kubeconfig.clusters;
  const [{ name: user, user: userEntry }] = kubeconfig.users;
  const [{ name: context, context: contextEntry }] = kubeconfig.contexts;
  const withCert = userEntry["client-certificate-data"] !== undefined;
  return {
    server: clusterEntry.server,
    context,
    cluster,
    user,
    ...(contextEntry.namespace ? { namespace: contextEntry.namespace } : {}),
    authentication: userEntry.token
      ? withCert
        ? "token+client-certificate"
        : "token"
      : "client-certificate",
    certificateAuthority: clusterEntry["certificate-authority-data"] ? "inline" : "system",
    ...(clusterEntry["tls-server-name"] ? { tlsServerName: clusterEntry["tls-server-name"] } : {}),
  };
}

function warningsFor(kubeconfig: PushKubeconfig): string[] {
  const [{ cluster }] = kubeconfig.clusters;
  return cluster["certificate-authority-data"]
    ? []
    : [
        "no certificate-authority-data: the API server must present a certificate the control plane's system CAs trust",
      ];
}
