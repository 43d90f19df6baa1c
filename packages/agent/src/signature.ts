import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { canonicalJson } from "@vwksp/protocol";

export type SignatureCheck = "valid" | "invalid" | "unsigned" | "no-key";

/**
 * Checks a job's detached signature: base64 Ed25519 over the canonical JSON of its payload,
 * made with the control plane's key for this cluster. Without a known key there is nothing to
 * check against. A job without a signature is `unsigned`: the control plane signs only for
 * clusters that ask for it, and the register answer does not say whether this one did.
 */
export function createSignatureVerifier(publicKeyPem: string | undefined) {
  let key: KeyObject | undefined;
  if (publicKeyPem) {
    key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== "ed25519") {
      throw new Error(`the signing public key is ${key.asymmetricKeyType}, expected ed25519`);
    }
  }
  return (payload: unknown, signature: string | undefined): SignatureCheck => {
    if (!key) return "no-key";
    if (!signature) return "unsigned";
    try {
      const bytes = Buffer.from(canonicalJson(payload), "utf8");
      return verify(null, bytes, key, Buffer.from(signature, "base64")) ? "valid" : "invalid";
    } catch {
      return "invalid";
    }
  };
}

export type SignatureVerifier = ReturnType<typeof createSignatureVerifier>;
