import { createCipheriv, createDecipheriv, generateKeyPairSync, randomBytes } from "node:crypto";
import { type Config, signingSecretBytes } from "../config.ts";

const SEALED_PREFIX = "vwksp-sealed:v1:";

/** A sealed key in the database: `vwksp-sealed:v1:<iv>:<tag>:<ciphertext>`, each base64. */
export const isSealed = (stored: string) => stored.startsWith(SEALED_PREFIX);

/**
 * The clusters' payload-signing private keys at rest: sealed with AES-256-GCM under
 * SIGNING_KEY_SECRET when it is set, plain PEM otherwise. Keys stored plain before the secret
 * was set still open, and `seal` of the worker's start-up converts them.
 */
export function createSigningKeyVault(secret: Buffer | undefined) {
  function seal(privateKeyPem: string): string {
    if (!secret || isSealed(privateKeyPem)) return privateKeyPem;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", secret, iv);
    const ciphertext = Buffer.concat([cipher.update(privateKeyPem, "utf8"), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString("base64"));
    return `${SEALED_PREFIX}${parts.join(":")}`;
  }

  function open(stored: string): string {
    if (!isSealed(stored)) return stored;
    if (!secret) throw new Error("this cluster's signing key is sealed: set SIGNING_KEY_SECRET to use it");
    const [iv, tag, ciphertext] = stored
      .slice(SEALED_PREFIX.length)
      .split(":")
      .map((part) => Buffer.from(part, "base64"));
    if (!iv || !tag || !ciphertext) throw new Error("a sealed signing key is malformed");
    try {
      const decipher = createDecipheriv("aes-256-gcm", secret, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
    } catch {
      throw new Error("a sealed signing key does not open with SIGNING_KEY_SECRET (was the secret changed?)");
    }
  }

  /** A new Ed25519 key pair for a cluster, the private half sealed. */
  function newKeyPair() {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    return {
      signingPublicKey: publicKey.export({ type: "spki", format: "pem" }).toString(),
      signingPrivateKey: seal(privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    };
  }

  return { seal, open, newKeyPair, sealing: secret !== undefined };
}

export type SigningKeyVault = ReturnType<typeof createSigningKeyVault>;

/** No secret: keys are stored and read as plain PEM. */
export const plainSigningKeys = createSigningKeyVault(undefined);

/** The vault the configuration asks for. */
export const signingKeysFor = (config: Pick<Config, "SIGNING_KEY_SECRET">) =>
  createSigningKeyVault(
    config.SIGNING_KEY_SECRET ? signingSecretBytes(config.SIGNING_KEY_SECRET) : undefined,
  );
