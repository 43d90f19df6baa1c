import { createCipheriv, createDecipheriv, createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { type Config, signingSecretBytes } from "../config.ts";

const SEALED_PREFIX = "vwksp-sealed:v1:";

/**
 * A sealed key in the database: `vwksp-sealed:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64
 * parts). The key id names the secret that sealed it (the first 8 hex of its SHA-256), so a
 * process with another secret says so instead of failing to decrypt.
 */
export const isSealed = (stored: string) => stored.startsWith(SEALED_PREFIX);

const keyIdOf = (secret: Buffer) => createHash("sha256").update(secret).digest("hex").slice(0, 8);

/**
 * The clusters' payload-signing private keys at rest: sealed with AES-256-GCM under
 * SIGNING_KEY_SECRET when it is set, plain PEM otherwise. Keys stored plain before the secret
 * was set still open, and so do keys sealed under one of the `previous` secrets
 * (SIGNING_KEY_SECRET_PREVIOUS, while the secret is being changed); the worker's start-up seals
 * both kinds under the current secret (`sealSigningKeys`).
 */
export function createSigningKeyVault(secret: Buffer | undefined, previous: Buffer[] = []) {
  const keyId = secret ? keyIdOf(secret) : undefined;
  /** Every secret this process can open with, by key id. */
  const openers = new Map([...previous, ...(secret ? [secret] : [])].map((bytes) => [keyIdOf(bytes), bytes]));

  const sealedBy = (stored: string) => stored.slice(SEALED_PREFIX.length).split(":", 1)[0];

  function seal(privateKeyPem: string): string {
    if (!secret || isSealed(privateKeyPem)) return privateKeyPem;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", secret, iv, { authTagLength: 16 });
    const ciphertext = Buffer.concat([cipher.update(privateKeyPem, "utf8"), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64"));
    return `${SEALED_PREFIX}${keyId}:${parts.join(":")}`;
  }

  function open(stored: string): string {
    if (!isSealed(stored)) return stored;
    const [by, ...parts] = stored.slice(SEALED_PREFIX.length).split(":");
    const opener = openers.get(by ?? "");
    if (!opener) {
      throw new Error(
        secret
          ? `the signing key was sealed under another SIGNING_KEY_SECRET (key id ${by}; this process has ${[...openers.keys()].join(", ")})`
          : `the signing key is sealed (key id ${by}): set SIGNING_KEY_SECRET to use it`,
      );
    }
    const [iv, tag, ciphertext] = parts.map((part) => Buffer.from(part, "base64"));
    if (parts.length !== 3 || iv?.length !== 12 || tag?.length !== 16 || !ciphertext) {
      throw new Error("a sealed signing key is malformed");
    }
    try {
      const decipher = createDecipheriv("aes-256-gcm", opener, iv, { authTagLength: 16 });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch {
      throw new Error("a sealed signing key does not open: it was altered");
    }
  }

  /** Whether `stored` is sealed under a secret this process does not have. */
  const sealedElsewhere = (stored: string) => isSealed(stored) && !openers.has(sealedBy(stored) ?? "");

  /** Whether `stored` opens here but is not sealed under the current secret (plain, or a previous one). */
  const needsSealing = (stored: string) =>
    secret !== undefined && !sealedElsewhere(stored) && (!isSealed(stored) || sealedBy(stored) !== keyId);

  /** Opens `stored` and seals it under the current secret. */
  const reseal = (stored: string) => seal(open(stored));

  /** A new Ed25519 key pair for a cluster, the private half sealed. */
  function newKeyPair() {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    return {
      signingPublicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      signingPrivateKey: seal(privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    };
  }

  return {
    seal,
    open,
    reseal,
    newKeyPair,
    sealedElsewhere,
    needsSealing,
    keyId,
    /** Key ids of the previous secrets: keys sealed under them still open, and get resealed. */
    previousKeyIds: [...openers.keys()].filter((id) => id !== keyId),
    sealing: secret !== undefined,
  };
}

export type SigningKeyVault = ReturnType<typeof createSigningKeyVault>;

/** No secret: keys are stored and read as plain PEM. */
export const plainSigningKeys = createSigningKeyVault(undefined);

/** The vault the configuration asks for. */
export const signingKeysFor = (config: Pick<Config, "SIGNING_KEY_SECRET" | "SIGNING_KEY_SECRET_PREVIOUS">) =>
  createSigningKeyVault(
    config.SIGNING_KEY_SECRET ? signingSecretBytes(config.SIGNING_KEY_SECRET) : undefined,
    (config.SIGNING_KEY_SECRET_PREVIOUS ?? []).map((value) => signingSecretBytes(value) as Buffer),
  );
