import { type Config, signingSecretBytes } from "../config.ts";
import { createSealer, type Sealer } from "./sealer.ts";

type SecretKeySettings = Pick<Config, "SECRET_KEY" | "SECRET_KEY_PREVIOUS">;

/** SECRET_KEY and SECRET_KEY_PREVIOUS as bytes (the config schema has checked their shape). */
export function secretKeysOf(config: SecretKeySettings): [Buffer | undefined, Buffer[]] {
  return [
    config.SECRET_KEY ? signingSecretBytes(config.SECRET_KEY) : undefined,
    (config.SECRET_KEY_PREVIOUS ?? []).map((value) => signingSecretBytes(value) as Buffer),
  ];
}

/**
 * The sealer for the credentials the service holds for clusters (kubeconfigs, Git credentials):
 * undefined without SECRET_KEY, for such credentials are never stored in clear.
 */
export function credentialSealerFor(config: SecretKeySettings): Sealer | undefined {
  const [current, previous] = secretKeysOf(config);
  return current ? createSealer({ current, previous, settingName: "SECRET_KEY" }) : undefined;
}
