import { crc32 } from "node:zlib";

/**
 * Secrets this service issues. Each has a fixed prefix so secret scanners and our log redaction
 * can recognise it.
 *
 * Registration token: `vwksp-reg-` + 64 lowercase hex = 16 hex lookup id + 40 hex secret
 * + 8 hex CRC32 of the preceding 56, so a typo is caught without the database.
 */
export const REGISTRATION_TOKEN_PREFIX = "vwksp-reg-";
export const AGENT_CREDENTIAL_PREFIX = "vwksp-agt-";
export const API_KEY_PREFIX = "vwksp-key-";

const REGISTRATION_TOKEN = /^vwksp-reg-([0-9a-f]{16})([0-9a-f]{40})([0-9a-f]{8})$/;
const AGENT_CREDENTIAL = /^vwksp-agt-[0-9a-f]{64}$/;

export function crc32Hex(text: string): string {
  return crc32(text).toString(16).padStart(8, "0");
}

export interface ParsedRegistrationToken {
  lookupId: string;
  secret: string;
}

/** Format and checksum check; null when the string cannot be a token we issued. */
export function parseRegistrationToken(token: string): ParsedRegistrationToken | null {
  const match = REGISTRATION_TOKEN.exec(token);
  if (!match) return null;
  const [, lookupId = "", secret = "", checksum = ""] = match;
  if (crc32Hex(lookupId + secret) !== checksum) return null;
  return { lookupId, secret };
}

export function formatRegistrationToken(lookupId: string, secret: string): string {
  return `${REGISTRATION_TOKEN_PREFIX}${lookupId}${secret}${crc32Hex(lookupId + secret)}`;
}

export function isAgentCredentialFormat(token: string): boolean {
  return AGENT_CREDENTIAL.test(token);
}
