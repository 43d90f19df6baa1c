import { randomBytes } from "node:crypto";
import { readObject, updateObject } from "./objects.ts";
import type { FakeUser } from "./rbac.ts";
import type { ResourceType } from "./resources.ts";
import type { ServerState } from "./state.ts";
import type { Change } from "./store.ts";
import type { KubeObject } from "./types.ts";

export const SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token";
const NAME_ANNOTATION = "kubernetes.io/service-account.name";
const UID_ANNOTATION = "kubernetes.io/service-account.uid";
/** The manager the token controller's writes are recorded under. */
const CONTROLLER = "kube-controller-manager";

const base64 = (text: string) => Buffer.from(text).toString("base64");
const decode = (value: unknown) => (typeof value === "string" ? Buffer.from(value, "base64").toString() : "");

function served(state: ServerState, kind: string): ResourceType {
  const resource = state.catalog.byKind("v1", kind);
  if (!resource) throw new Error(`kube-fake: ${kind} is not served`);
  return resource;
}

const tokenOf = (secret: KubeObject) => (secret.data as Record<string, unknown> | undefined)?.token;

const isTokenSecret = (secret: KubeObject) =>
  secret.type === SERVICE_ACCOUNT_TOKEN_TYPE &&
  typeof secret.metadata.annotations?.[NAME_ANNOTATION] === "string";

/**
 * The token controller: a `kubernetes.io/service-account-token` Secret naming an existing
 * ServiceAccount gets `token`, `ca.crt` and `namespace` in a write of its own right after the
 * create (so the create's answer has no token yet, as on a real cluster). A Secret created before
 * its ServiceAccount is filled when the ServiceAccount appears (a real controller deletes it).
 */
export function startTokenController(state: ServerState, caCert: string) {
  const secrets = served(state, "Secret");
  const accounts = served(state, "ServiceAccount");

  function fill(namespace: string, name: string) {
    const target = { resource: secrets, namespace, name, scope: "main" as const };
    const secret = readObject(state, target);
    if (!secret || !isTokenSecret(secret) || tokenOf(secret)) return;
    const account = state.store.get(
      accounts,
      namespace,
      secret.metadata.annotations?.[NAME_ANNOTATION] ?? "",
    );
    if (!account?.metadata.uid) return;
    updateObject(
      state,
      target,
      secret,
      {
        ...secret,
        metadata: {
          ...secret.metadata,
          annotations: { ...secret.metadata.annotations, [UID_ANNOTATION]: account.metadata.uid },
        },
        data: {
          ...(secret.data as Record<string, string> | undefined),
          token: base64(`kube-fake-sa.${randomBytes(24).toString("base64url")}`),
          "ca.crt": base64(caCert),
          namespace: base64(namespace),
        },
      },
      CONTROLLER,
    );
  }

  // Deferred: a write from inside the store's notification would reach watches before the ADDED.
  return state.store.subscribe((change: Change) => {
    if (change.type !== "ADDED") return;
    const { namespace = "", name } = change.object.metadata;
    if (change.resource === secrets) queueMicrotask(() => fill(namespace, name));
    if (change.resource === accounts) {
      for (const secret of state.store.list(secrets, namespace)) {
        if (secret.metadata.annotations?.[NAME_ANNOTATION] === name)
          queueMicrotask(() => fill(namespace, secret.metadata.name));
      }
    }
  });
}

/**
 * The user a ServiceAccount token authenticates as, while its Secret exists and still belongs to
 * the ServiceAccount it was issued for (a deleted and re-created ServiceAccount has a new uid).
 */
export function serviceAccountUser(state: ServerState, token: string): FakeUser | undefined {
  const accounts = served(state, "ServiceAccount");
  for (const secret of state.store.list(served(state, "Secret"), undefined)) {
    if (!isTokenSecret(secret) || decode(tokenOf(secret)) !== token) continue;
    const namespace = secret.metadata.namespace ?? "";
    const name = secret.metadata.annotations?.[NAME_ANNOTATION] ?? "";
    const account = state.store.get(accounts, namespace, name);
    if (!account || account.metadata.uid !== secret.metadata.annotations?.[UID_ANNOTATION]) return undefined;
    return {
      token,
      username: `system:serviceaccount:${namespace}:${name}`,
      groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
      rules: [],
    };
  }
  return undefined;
}
