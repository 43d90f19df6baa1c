import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  DEFAULT_SERVICE_ACCOUNT,
  DEFAULT_SERVICE_ACCOUNT_NAMESPACE,
  kubeconfigYaml,
  type Manifest,
  manifestsYaml,
  renderPushKubeconfig,
  renderPushRbac,
} from "@vwksp/push";
import { errorMessage } from "../errors.ts";
import type { KubeObject } from "../kube/kube.ts";
import { createKube, loadKubeConfig } from "../kube/kube.ts";
import { type CliIo, parseDuration, println, UsageError } from "./common.ts";
import { commandHelp, type FlagSpecs, parseFlags } from "./flags.ts";

export const PUSH_CREDENTIALS_USAGE =
  "vwksp-agent push-credentials --namespaces NS[,NS…] [--apply --output PATH] [flags]";

export const PUSH_CREDENTIALS_FLAGS = {
  namespaces: {
    type: "string",
    env: "VWKSP_NAMESPACES",
    placeholder: "NS[,NS…]",
    description:
      "the cluster's allowed namespaces, comma-separated concrete names (a RoleBinding is made in each)",
  },
  apply: {
    type: "boolean",
    env: "VWKSP_APPLY",
    default: "false",
    description:
      "apply the objects with the current kubeconfig (cluster admin), wait for the token and write the kubeconfig to paste",
  },
  output: {
    type: "string",
    env: "VWKSP_OUTPUT",
    placeholder: "PATH",
    default: "vworkspace-push-kubeconfig.yaml",
    description: "where --apply writes the kubeconfig to paste (mode 0600)",
  },
  server: {
    type: "string",
    env: "VWKSP_SERVER",
    placeholder: "URL",
    description:
      "the API server's https URL as the control plane reaches it (default: the current kubeconfig's server)",
  },
  "service-account-namespace": {
    type: "string",
    env: "VWKSP_SERVICE_ACCOUNT_NAMESPACE",
    placeholder: "NS",
    default: DEFAULT_SERVICE_ACCOUNT_NAMESPACE,
    description:
      "where the ServiceAccount and its token Secret live (it must exist: the operator's namespace)",
  },
  name: {
    type: "string",
    env: "VWKSP_SERVICE_ACCOUNT",
    placeholder: "NAME",
    default: DEFAULT_SERVICE_ACCOUNT,
    description: "the ServiceAccount's name, and the prefix of the roles and bindings",
  },
  kubeconfig: {
    type: "string",
    env: "VWKSP_KUBECONFIG",
    placeholder: "PATH",
    description: "the administrator's kubeconfig for --apply (else $KUBECONFIG, then in-cluster)",
  },
  timeout: {
    type: "string",
    env: "VWKSP_TIMEOUT",
    placeholder: "DURATION",
    default: "60s",
    description: "how long --apply waits for the token controller to fill the token Secret",
  },
} as const satisfies FlagSpecs;

export const PUSH_CREDENTIALS_HELP = commandHelp(
  PUSH_CREDENTIALS_USAGE,
  PUSH_CREDENTIALS_FLAGS,
  `Creates the least-privilege credential push mode uses (docs/push-mode.md): a ServiceAccount,
a ClusterRole for applicationinstances and operations bound by a RoleBinding in each allowed
namespace, a ClusterRole to list and watch the Cluster CRs bound cluster-wide, and a token
Secret. Without --apply it prints these objects as YAML (kubectl apply -f -). With --apply it
applies them, waits for the token and writes the kubeconfig to paste into the Cluster Registry
(PUT /api/v1/clusters/{id}/kubeconfig) to --output; the token is never printed.`,
);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function namespacesOf(value: string | undefined): string[] {
  const namespaces = [
    ...new Set(
      (value ?? "")
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    ),
  ];
  if (namespaces.length === 0)
    throw new UsageError("--namespaces is required (the cluster's allowed namespaces)");
  const invalid = namespaces.find((namespace) => !DNS_LABEL.test(namespace));
  if (invalid !== undefined) {
    throw new UsageError(
      `--namespaces: "${invalid}" is not a namespace name (globs cannot be bound: list the namespaces)`,
    );
  }
  return namespaces;
}

/** Prints, or applies, push mode's ServiceAccount, roles, bindings and token Secret. */
export async function pushCredentialsCommand(args: string[], io: CliIo): Promise<number> {
  const { values, help } = parseFlags(args, PUSH_CREDENTIALS_FLAGS, io.env);
  if (help) {
    println(io.stdout, PUSH_CREDENTIALS_HELP);
    return 0;
  }
  const namespaces = namespacesOf(values.namespaces);
  const manifests = renderPushRbac({
    namespaces,
    ...(values["service-account-namespace"]
      ? { serviceAccountNamespace: values["service-account-namespace"] }
      : {}),
    ...(values.name ? { name: values.name } : {}),
  });
  if (!values.apply) {
    io.stdout.write(manifestsYaml(manifests));
    return 0;
  }
  const timeoutMs = parseDuration(values.timeout ?? "60s", "--timeout");
  const config = (io.loadKubeConfig ?? loadKubeConfig)(values.kubeconfig);
  const server = values.server ?? config.getCurrentCluster()?.server;
  if (!server?.startsWith("https://")) {
    throw new UsageError(
      `the control plane needs the API server's https URL: give --server (the current kubeconfig says ${JSON.stringify(server ?? "")})`,
    );
  }
  const kube = createKube(config);
  for (const manifest of manifests) {
    try {
      await kube.apply(manifest as unknown as KubeObject);
    } catch (error) {
      println(
        io.stderr,
        `vwksp-agent: applying ${manifest.kind} ${manifest.metadata.name} failed: ${errorMessage(error)}`,
      );
      return 1;
    }
    println(io.stdout, `applied ${manifest.kind} ${nameOf(manifest)}`);
  }
  const secret = manifests.find((manifest) => manifest.kind === "Secret") as Manifest;
  const data = await tokenOf(kube, secret, timeoutMs, io.signal);
  if (!data) {
    println(
      io.stderr,
      `vwksp-agent: the token Secret ${nameOf(secret)} was not filled within ${values.timeout}: is the token controller running?`,
    );
    return 1;
  }
  const decode = (value: string) => Buffer.from(value, "base64").toString("utf8");
  const kubeconfig = renderPushKubeconfig({
    server,
    caCertificate: decode(data["ca.crt"] ?? ""),
    token: decode(data.token ?? ""),
    ...(values.name ? { name: values.name } : {}),
  });
  const output = values.output ?? "vworkspace-push-kubeconfig.yaml";
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, kubeconfigYaml(kubeconfig), { mode: 0o600 });
  await chmod(output, 0o600);
  println(
    io.stdout,
    `wrote the kubeconfig to paste to ${output} (mode 0600; it holds the token: keep it secret)`,
  );
  println(
    io.stdout,
    `next: curl -X PUT -H "Authorization: Bearer $ADMIN_KEY" -H "Content-Type: application/yaml" --data-binary @${output} $CONTROL_PLANE/api/v1/clusters/$CLUSTER_ID/kubeconfig`,
  );
  return 0;
}

const nameOf = (manifest: Manifest) =>
  manifest.metadata.namespace
    ? `${manifest.metadata.namespace}/${manifest.metadata.name}`
    : manifest.metadata.name;

async function tokenOf(
  kube: ReturnType<typeof createKube>,
  secret: Manifest,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Record<string, string> | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    const stored = await kube.get({
      apiVersion: secret.apiVersion,
      kind: secret.kind,
      namespace: secret.metadata.namespace,
      name: secret.metadata.name,
    });
    const data = (stored as { data?: Record<string, string> } | undefined)?.data;
    if (data?.token && data["ca.crt"]) return data;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}
