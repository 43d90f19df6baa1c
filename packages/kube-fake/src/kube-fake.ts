import { randomBytes, randomUUID } from "node:crypto";
import { createFaultRegistry } from "./faults.ts";
import { createListener } from "./http-server.ts";
import { buildKubeconfig, kubeconfigYaml } from "./kubeconfig.ts";
import { createObjectControls } from "./object-controls.ts";
import { CLUSTER_ADMIN, type FakeUser, type PolicyRule } from "./rbac.ts";
import { createResourceCatalog } from "./resources.ts";
import { startTokenController } from "./service-account-tokens.ts";
import type { ServerState } from "./state.ts";
import { createObjectStore } from "./store.ts";
import type { Deviations } from "./strategy.ts";
import { generateTestCertificates } from "./tls.ts";
import { createWatchHub } from "./watch.ts";

export interface KubeFakeOptions {
  /** The administrator's bearer token (cluster-admin, user `kubernetes-admin`); random by default. */
  token?: string;
  /**
   * More users, each with its token and, as a shortcut, RBAC rules; stored ClusterRoleBindings and
   * RoleBindings grant users (and ServiceAccount tokens) their rules as well.
   */
  users?: FakeUser[];
  /** What /version answers. */
  gitVersion?: string;
  /** Namespaces to create besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** API groups not served, e.g. a cluster where the vWorkspace CRDs are not installed. */
  omitGroups?: string[];
  /** A fixed port; an ephemeral one by default. */
  port?: number;
  /** How often open watches that allow bookmarks get one (the real server: about a minute). */
  bookmarkIntervalMs?: number;
  /** When the server ends a watch that gave no timeoutSeconds (the real one: 30 to 60 minutes). */
  watchTimeoutSeconds?: number;
  /** Changes kept for watches to resume from; older ones are compacted (the watch cache's size). */
  historyLimit?: number;
  firstResourceVersion?: number;
  deviations?: Deviations;
  now?: () => Date;
}

const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** Starts a Kubernetes API server stand-in over HTTPS on 127.0.0.1. */
export async function startKubeFake(options: KubeFakeOptions = {}) {
  const now = options.now ?? (() => new Date());
  const admin: FakeUser = {
    token: options.token ?? randomBytes(24).toString("hex"),
    username: "kubernetes-admin",
    groups: ["system:masters", "system:authenticated"],
    rules: CLUSTER_ADMIN,
  };
  const store = createObjectStore({
    firstResourceVersion: options.firstResourceVersion ?? 1000,
    historyLimit: options.historyLimit ?? 10_000,
  });
  const state: ServerState = {
    catalog: createResourceCatalog(options.omitGroups),
    store,
    watches: createWatchHub(store, { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000 }),
    faults: createFaultRegistry(),
    // Copies: a test changing its rules later goes through setRules, not through its own object.
    users: new Map([admin, ...(options.users ?? [])].map((user) => [user.token, structuredClone(user)])),
    requests: [],
    deviations: options.deviations ?? {},
    gitVersion: options.gitVersion ?? "v1.31.2",
    watchTimeoutMs: (options.watchTimeoutSeconds ?? 1800) * 1000,
    now,
    newUid: randomUUID,
  };
  const objects = createObjectControls(state);
  for (const name of [...SYSTEM_NAMESPACES, ...(options.namespaces ?? [])]) {
    objects.put({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  const certificates = await generateTestCertificates(now());
  startTokenController(state, certificates.caCert);
  const listener = createListener(state, certificates);
  await listener.start(options.port ?? 0);
  const url = `https://127.0.0.1:${listener.port()}`;

  const kubeconfig = (user: { token?: string; namespace?: string } = {}) =>
    buildKubeconfig({
      server: url,
      caCert: certificates.caCert,
      token: user.token ?? admin.token,
      namespace: user.namespace,
    });

  return {
    url,
    port: listener.port(),
    /** PEM of the test CA the serving certificate chains to. */
    caCert: certificates.caCert,
    token: admin.token,
    /** A kubeconfig with inline CA data, this server and a token (the admin's by default). */
    kubeconfig,
    kubeconfigYaml: (user: { token?: string; namespace?: string } = {}) => kubeconfigYaml(kubeconfig(user)),
    /** Every request received, in order. */
    requests: state.requests,
    ...objects,

    addUser(user: FakeUser) {
      state.users.set(user.token, structuredClone(user));
    },
    setRules(token: string, rules: PolicyRule[]) {
      const user = state.users.get(token);
      if (!user) throw new Error(`kube-fake: no user with that token`);
      user.rules = structuredClone(rules);
    },
    removeUser: (token: string) => state.users.delete(token),

    /** The store's current resourceVersion (etcd's revision). */
    resourceVersion: () => String(store.revision()),
    /** Forgets history up to a resourceVersion (default: now): older watches and Exact lists get 410. */
    compact: (resourceVersion?: string) =>
      store.compact(resourceVersion === undefined ? undefined : Number(resourceVersion)),
    watchCount: () => state.watches.count(),
    /**
     * Ends every open watch: cleanly, as at the server's watch timeout (default), or by cutting
     * the connections, as a network failure does. Clients resume from their last resourceVersion.
     */
    dropWatches: (how: "end" | "cut" = "end") =>
      how === "cut" ? state.watches.cutAll() : state.watches.endAll(),
    sendBookmarks: () => state.watches.sendBookmarks(),

    /** Adds a fault for matching requests; the returned function removes it. */
    fail: state.faults.add,
    clearFaults: state.faults.clear,

    /** Unreachable: refuses connections and cuts open ones; state is kept. */
    stop: () => listener.stop(),
    /** Reachable again on the same port, with the same certificate and objects. */
    restart: () => listener.start(listener.port()),
    close: () => listener.stop(),
  };
}

export type KubeFake = Awaited<ReturnType<typeof startKubeFake>>;
