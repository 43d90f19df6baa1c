import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { canonicalJson } from "@vwksp/protocol";

/** base64 Ed25519 signature over the RFC 8785 canonical JSON of a job payload. */
export function signPayload(privateKeyPem: string, payload: unknown): string {
  return sign(null, Buffer.from(canonicalJson(payload)), createPrivateKey(privateKeyPem)).toString("base64");
}

export function verifyPayloadSignature(publicKeyPem: string, payload: unknown, signature: string): boolean {
  try {
    return verify(
      null,
      Buffer.from(canonicalJson(payload)),
      createPublicKey(publicKeyPem),
      Buffer.from(signature, "base64"),
    );
  } catch {
    return false;
  }
}
