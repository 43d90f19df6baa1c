import { z } from "zod";
import type { Kube } from "../kube/kube.ts";
import { type CredentialStore, Credentials, createKeyLog } from "./credentials.ts";

// Data keys of the Go operator's credentials Secret; it reads either base-URL key.
const KEY_BASE_URL = "odoo-base-url";
const KEY_CONTROL_PLANE_BASE_URL = "control-plane-base-url";
const KEY_CLUSTER_ID = "cluster-id";
const KEY_TOKEN = "token";
const KEY_SIGNING_PUBLIC_KEY = "signing-public-key";
const KEY_SIGN_PAYLOADS = "sign-payloads";
const KEY_EXPIRES_AT = "expires-at";

/** The Go operator's processed-keys ConfigMap, so either agent honours the other's history. */
export const PROCESSED_KEYS_CONFIGMAP = "vworkspace-applied-jobs";
const KEY_PROCESSED = "applied-keys.json";

const OWN_LABELS = { "app.kubernetes.io/managed-by": "vworkspace-agent" };

const encode = (value: string) => Buffer.from(value, "utf8").toString("base64");
const decode = (value: unknown) =>
  typeof value === "string" ? Buffer.from(value, "base64").toString("utf8").trim() : undefined;

/** `NAMESPACE/NAME`, both DNS labels/subdomains. */
export function parseSecretRef(value: string): { namespace: string; name: string } {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!match?.[1] || !match[3])
    throw new Error(`--credentials-secret must be NAMESPACE/NAME, got "${value}"`);
  return { namespace: match[1], name: match[3] };
}

/** A credential in a Kubernetes Secret; processed keys in a ConfigMap of the same namespace. */
export function createSecretStore(kube: Kube, namespace: string, name: string): CredentialStore {
  return {
    location: `secret ${namespace}/${name}`,
    async load() {
      const secret = await kube.get({ apiVersion: "v1", kind: "Secret", namespace, name });
      if (!secret) throw new Error(`secret ${namespace}/${name} not found; run "vwksp-agent register" first`);
      const data = (secret.data ?? {}) as Record<string, unknown>;
      const parsed = Credentials.safeParse({
        baseUrl: decode(data[KEY_CONTROL_PLANE_BASE_URL]) || decode(data[KEY_BASE_URL]),
        clusterId: decode(data[KEY_CLUSTER_ID]),
        token: decode(data[KEY_TOKEN]),
        signingPublicKey: decode(data[KEY_SIGNING_PUBLIC_KEY]) || undefined,
        signPayloads: decode(data[KEY_SIGN_PAYLOADS]) === "true" || undefined,
        expiresAt: decode(data[KEY_EXPIRES_AT]) || undefined,
      });
      if (!parsed.success) {
        throw new Error(
          `secret ${namespace}/${name} misses ${KEY_BASE_URL}, ${KEY_CLUSTER_ID} or ${KEY_TOKEN}`,
        );
      }
      return parsed.data;
    },
    async save(credentials) {
      const data: Record<string, string> = {
        [KEY_BASE_URL]: encode(credentials.baseUrl),
        [KEY_CONTROL_PLANE_BASE_URL]: encode(credentials.baseUrl),
        [KEY_CLUSTER_ID]: encode(credentials.clusterId),
        [KEY_TOKEN]: encode(credentials.token),
      };
      if (credentials.signingPublicKey) data[KEY_SIGNING_PUBLIC_KEY] = encode(credentials.signingPublicKey);
      if (credentials.signPayloads) data[KEY_SIGN_PAYLOADS] = encode("true");
      if (credentials.expiresAt) data[KEY_EXPIRES_AT] = encode(credentials.expiresAt);
      await kube.apply({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name, namespace, labels: OWN_LABELS },
        type: "Opaque",
        data,
      });
    },
    idempotency(clusterId) {
      const ref = { apiVersion: "v1", kind: "ConfigMap", namespace, name: PROCESSED_KEYS_CONFIGMAP };
      return createKeyLog(clusterId, {
        async load() {
          const configMap = await kube.get(ref);
          const data = (configMap?.data ?? {}) as Record<string, string | undefined>;
          if (!data[KEY_PROCESSED]) return undefined;
          const keys = z.array(z.string()).parse(JSON.parse(data[KEY_PROCESSED]));
          return { clusterId: data[KEY_CLUSTER_ID], keys };
        },
        async save(state) {
          await kube.apply({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: PROCESSED_KEYS_CONFIGMAP, namespace, labels: OWN_LABELS },
            data: { [KEY_PROCESSED]: JSON.stringify(state.keys), [KEY_CLUSTER_ID]: state.clusterId },
          });
        },
      });
    },
  };
}
