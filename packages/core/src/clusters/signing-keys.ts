import { generateKeyPairSync } from "node:crypto";
import type { Config } from "../config.ts";
import { createSealer, isSealed } from "../secrets/sealer.ts";
import { secretKeysOf } from "../secrets/secret-key.ts";

/**
 * The clusters' payload-signing private keys at rest: sealed (secrets/sealer.ts) under
 * SECRET_KEY when it is set, plain PEM otherwise. Keys stored plain before the secret
 * was set still open, and so do keys sealed under one of the `previous` secrets
 * (SECRET_KEY_PREVIOUS, while the secret is being changed); the worker's start-up seals
 * both kinds under the current secret (`sealSigningKeys`).
 */
export function createSigningKeyVault(secret: Buffer | undefined, previous: Buffer[] = []) {
  const sealer = createSealer({ current: secret, previous, settingName: "SECRET_KEY" });

  /** Sealed under the current secret; plain while no secret is set (as before sealing existed). */
  const seal = (privateKeyPem: string) =>
    !sealer.sealing || isSealed(privateKeyPem) ? privateKeyPem : sealer.seal(privateKeyPem);

  const open = (stored: string) => {
    try {
      return sealer.open(stored);
    } catch (error) {
      throw new Error(`signing key: ${(error as Error).message}`);
    }
  };

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
    sealedElsewhere: sealer.sealedElsewhere,
    needsSealing: sealer.needsSealing,
    keyId: sealer.keyId,
    /** Key ids of the previous secrets: keys sealed under them still open, and get resealed. */
    previousKeyIds: sealer.previousKeyIds,
    sealing: sealer.sealing,
  };
}

export type SigningKeyVault = ReturnType<typeof createSigningKeyVault>;

/** No secret: keys are stored and read as plain PEM. */
export const plainSigningKeys = createSigningKeyVault(undefined);

/** The vault the configuration asks for. */
export const signingKeysFor = (config: Pick<Config, "SECRET_KEY" | "SECRET_KEY_PREVIOUS">) =>
  createSigningKeyVault(...secretKeysOf(config));
