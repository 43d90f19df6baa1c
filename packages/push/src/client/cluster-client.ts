import {
  AuthorizationV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type RequestContext,
  VersionApi,
} from "@kubernetes/client-node";
import type { PushKubeconfig } from "../kubeconfig/types.ts";
import { toKubeError } from "./kube-errors.ts";
import { createRawHttp } from "./raw-http.ts";

export interface ClusterClientOptions {
  /** How long one request may take before it fails as a timeout (client-node sets no limit). */
  requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/**
 * client-node's typed calls take no per-call signal for KubernetesObjectApi; every request passes
 * through the config's authentication hook, so that is where each gets its deadline and the
 * client-wide abort.
 */
class DeadlineKubeConfig extends KubeConfig {
  constructor(
    private readonly timeoutMs: number,
    private readonly closing: AbortSignal,
  ) {
    super();
  }

  override async applySecurityAuthentication(context: RequestContext) {
    await super.applySecurityAuthentication(context);
    context.setSignal(AbortSignal.any([this.closing, AbortSignal.timeout(this.timeoutMs)]));
  }
}

/** client-node's dynamic object API with its discovery lookup (kind → resource, cached) made public. */
export class ObjectApi extends KubernetesObjectApi {
  static forConfig(config: KubeConfig) {
    const api = config.makeApiClient(ObjectApi);
    api.setDefaultNamespace(config);
    return api;
  }

  /** The API server's resource for a kind, undefined when its group version does not list it. */
  discover(apiVersion: string, kind: string) {
    return this.resource(apiVersion, kind);
  }
}

/** client-node's KubeConfig from a stored kubeconfig, without reading any file. */
function loadConfig(kubeconfig: PushKubeconfig, config: KubeConfig) {
  const [{ name: clusterName, cluster }] = kubeconfig.clusters;
  const [{ name: userName, user }] = kubeconfig.users;
  const [{ name: contextName, context }] = kubeconfig.contexts;
  config.loadFromOptions({
    clusters: [
      {
        name: clusterName,
        server: cluster.server,
        caData: cluster["certificate-authority-data"],
        tlsServerName: cluster["tls-server-name"],
        skipTLSVerify: false,
      },
    ],
    users: [
      {
        name: userName,
        token: user.token,
        certData: user["client-certificate-data"],
        keyData: user["client-key-data"],
      },
    ],
    contexts: [{ name: contextName, cluster: clusterName, user: userName, namespace: context.namespace }],
    currentContext: contextName,
  });
}

/**
 * The connection to one push cluster: client-node's typed APIs for single calls, the package's
 * own streaming requests for list and watch, one error shape for both (see kube-errors.ts), and
 * close() to abort everything in flight.
 */
export function createClusterClient(kubeconfig: PushKubeconfig, options: ClusterClientOptions = {}) {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const closing = new AbortController();
  const config = new DeadlineKubeConfig(timeoutMs, closing.signal);
  loadConfig(kubeconfig, config);
  const server = new URL(kubeconfig.clusters[0].cluster.server).host;

  return {
    /** host:port of the API server, for messages. */
    server,
    objects: ObjectApi.forConfig(config),
    versions: config.makeApiClient(VersionApi),
    access: config.makeApiClient(AuthorizationV1Api),
    http: createRawHttp(config, { timeoutMs, signal: closing.signal, server }),
    /** Runs a typed call; its failure comes back as a KubeStatusError or KubeTransportError. */
    async call<T>(work: () => Promise<T>): Promise<T> {
      try {
        return await work();
      } catch (error) {
        throw toKubeError(error, server, closing.signal.aborted);
      }
    },
    /** Aborts every request and watch in flight; the client is unusable afterwards. */
    close: () => closing.abort(),
    closed: () => closing.signal.aborted,
    signal: closing.signal,
  };
}

export type ClusterClient = ReturnType<typeof createClusterClient>;
