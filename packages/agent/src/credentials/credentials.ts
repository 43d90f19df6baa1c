import { z } from "zod";

/** What `register` persists and `run` needs: where to talk, as whom, and the job-signing key. */
export const Credentials = z.object({
  baseUrl: z.string().url(),
  clusterId: z.string().min(1),
  token: z.string().min(1),
  /** PEM SPKI Ed25519 key the control plane signs this cluster's jobs with, when it told us. */
  signingPublicKey: z.string().optional(),
  /** The control plane signs every job of this cluster: an unsigned job is then refused. */
  signPayloads: z.boolean().optional(),
  expiresAt: z.string().optional(),
});
export type Credentials = z.infer<typeof Credentials>;

/** Processed idempotency keys, kept next to the credential. */
export interface IdempotencyStore {
  has(key: string): Promise<boolean>;
  record(key: string): Promise<void>;
}

export interface CredentialStore {
  /** Where the credential lives, for humans: a path or `secret <ns>/<name>`. Never the secret. */
  readonly location: string;
  load(): Promise<Credentials>;
  save(credentials: Credentials): Promise<void>;
  /** The processed-keys store of this credential's cluster. */
  idempotency(clusterId: string): IdempotencyStore;
}

/** Keeps the newest `limit` keys: enough to cover every redelivery window, bounded in size. */
export const MAX_PROCESSED_KEYS = 5_000;

/**
 * An idempotency store over a load/save pair. Keys belong to one cluster id: a file reused for
 * a new registration must not turn the new cluster's first jobs into no-ops.
 */
export function createKeyLog(
  clusterId: string,
  persistence: {
    load(): Promise<{ clusterId?: string | undefined; keys: string[] } | undefined>;
    save(state: { clusterId: string; keys: string[] }): Promise<void>;
  },
  limit = MAX_PROCESSED_KEYS,
): IdempotencyStore {
  let keys: string[] | undefined;
  let set = new Set<string>();

  async function loaded() {
    if (keys) return keys;
    const state = await persistence.load();
    keys = state && (state.clusterId === undefined || state.clusterId === clusterId) ? state.keys : [];
    set = new Set(keys);
    return keys;
  }

  return {
    async has(key) {
      const trimmed = key.trim();
      if (!trimmed) return false;
      await loaded();
      return set.has(trimmed);
    },
    async record(key) {
      const trimmed = key.trim();
      const list = await loaded();
      if (!trimmed || set.has(trimmed)) return;
      list.push(trimmed);
      set.add(trimmed);
      while (list.length > limit) set.delete(list.shift() ?? "");
      await persistence.save({ clusterId, keys: list });
    },
  };
}
