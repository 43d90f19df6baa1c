import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Every secret this service keeps in its database — clusters' payload-signing keys, push-mode
 * kubeconfigs, GitOps credentials — is sealed here: AES-256-GCM under the service's secret key
 * (SECRET_KEY), with the key id of the secret that sealed it, so a process holding another
 * secret says so instead of failing to decrypt, and a secret can be changed while the previous
 * one still opens (SECRET_KEY_PREVIOUS; the worker reseals at start).
 *
 * Stored forms:
 * - `vwksp-sealed:v1:<key id>:<iv>:<tag>:<ciphertext>` — the first signing keys, bound to nothing;
 * - `vwksp-sealed:v2:<key id>:<iv>:<tag>:<ciphertext>` — bound to a context (e.g.
 *   `kubeconfig:<cluster id>`) as additional authenticated data: a sealed value copied onto
 *   another row, or read for another purpose, does not open.
 */
const PREFIX = "vwksp-sealed:";
const V1 = `${PREFIX}v1:`;
const V2 = `${PREFIX}v2:`;

export const isSealed = (stored: string) => stored.startsWith(PREFIX);

/** The first 8 hex of the secret's SHA-256: names a secret without revealing it. */
export const sealingKeyIdOf = (secret: Buffer) =>
  createHash("sha256").update(secret).digest("hex").slice(0, 8);

/** A sealed value that cannot be opened here; the message says why, never the value. */
export class SealedValueError extends Error {
  override readonly name = "SealedValueError";
}

export interface SealerOptions {
  /** The current secret (32 bytes); without it nothing is sealed, and sealed values do not open. */
  current: Buffer | undefined;
  /** Former secrets, while the secret is being changed: values sealed under them still open. */
  previous?: Buffer[];
  /** The setting's name, for messages ("set SECRET_KEY …"). */
  settingName?: string;
}

export function createSealer({ current, previous = [], settingName = "SECRET_KEY" }: SealerOptions) {
  const keyId = current ? sealingKeyIdOf(current) : undefined;
  /** Every secret this process can open with, by key id. */
  const openers = new Map(
    [...previous, ...(current ? [current] : [])].map((bytes) => [sealingKeyIdOf(bytes), bytes]),
  );

  const sealedBy = (stored: string) => stored.slice(V1.length).split(":", 1)[0] ?? "";

  /**
   * Seals `plaintext` under the current secret, bound to `context` when given. Throws when no
   * secret is configured: callers that may store a value plain (signing keys, for
   * compatibility) check `sealing` first.
   */
  function seal(plaintext: string, context?: string): string {
    if (!current || !keyId) throw new SealedValueError(`${settingName} is not set: nothing can be sealed`);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", current, iv, { authTagLength: 16 });
    if (context !== undefined) cipher.setAAD(Buffer.from(context, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64"));
    return `${context === undefined ? V1 : V2}${keyId}:${parts.join(":")}`;
  }

  /** Opens a sealed value (bound to `context` if it was sealed so); plain values come back as they are. */
  function open(stored: string, context?: string): string {
    if (!isSealed(stored)) return stored;
    const bound = stored.startsWith(V2);
    if (!bound && !stored.startsWith(V1)) throw new SealedValueError("a sealed value has an unknown format");
    if (bound && context === undefined)
      throw new SealedValueError("a bound sealed value was read without its context");
    const [by, ...parts] = stored.slice(V1.length).split(":");
    const opener = openers.get(by ?? "");
    if (!opener) {
      throw new SealedValueError(
        current
          ? `sealed under another ${settingName} (key id ${by}; this process has ${[...openers.keys()].join(", ")})`
          : `sealed (key id ${by}): set ${settingName} to use it`,
      );
    }
    const [iv, tag, ciphertext] = parts.map((part) => Buffer.from(part, "base64"));
    if (parts.length !== 3 || iv?.length !== 12 || tag?.length !== 16 || !ciphertext) {
      throw new SealedValueError("a sealed value is malformed");
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", opener, iv, { authTagLength: 16 });
      if (bound) decipher.setAAD(Buffer.from(context ?? "", "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch {
      throw new SealedValueError("a sealed value does not open: it was altered, or belongs elsewhere");
    }
  }

  /** Whether `stored` is sealed under a secret this process does not have. */
  const sealedElsewhere = (stored: string) => isSealed(stored) && !openers.has(sealedBy(stored));

  /** Whether `stored` opens here but is not sealed under the current secret (plain, or a previous one). */
  const needsSealing = (stored: string) =>
    current !== undefined && !sealedElsewhere(stored) && (!isSealed(stored) || sealedBy(stored) !== keyId);

  /** Opens `stored` and seals it again under the current secret, with the same binding. */
  const reseal = (stored: string, context?: string) =>
    seal(
      open(stored, context),
      stored.startsWith(V2) || (!isSealed(stored) && context !== undefined) ? context : undefined,
    );

  return {
    seal,
    open,
    reseal,
    sealedElsewhere,
    needsSealing,
    keyId,
    /** Key ids of the previous secrets: values sealed under them still open, and get resealed. */
    previousKeyIds: [...openers.keys()].filter((id) => id !== keyId),
    /** Whether a secret is configured (values can be sealed). */
    sealing: current !== undefined,
  };
}

export type Sealer = ReturnType<typeof createSealer>;
